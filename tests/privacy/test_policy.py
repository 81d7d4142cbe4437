from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from privacy_cases import CASES, SENSITIVE

from openkyc.privacy.policy import Policy, PolicyInvalid, default_policy_text, load_policy, parse_policy
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose, RetentionKind


@pytest.mark.parametrize(("category", "purpose", "allowed"), CASES)
def test_policy_matches_design_table(policy: Policy, category: DataCategory, purpose: Purpose, allowed: bool) -> None:
    assert (purpose in policy.allowed_purposes(category)) is allowed


def test_sensitive_elements_are_images_features_and_id_numbers(policy: Policy) -> None:
    assert set(policy.sensitive_elements()) == SENSITIVE


@pytest.mark.parametrize(
    ("kind", "hours"),
    [
        (RetentionKind.FACE_IMAGE, 2),
        (RetentionKind.FACE_VIDEO, 2),
        (RetentionKind.DOCUMENT_IMAGE, 2),
        (RetentionKind.VERIFICATION_RESULT, 72),
        (RetentionKind.CALL_RECORD, 2 * 365 * 24),
    ],
)
def test_design_retention_defaults(policy: Policy, kind: RetentionKind, hours: int) -> None:
    assert policy.max_retention_hours(kind) == hours


def test_legal_bases(policy: Policy) -> None:
    for purpose in Purpose:
        spec = policy.purposes[purpose]
        if purpose is Purpose.MODEL_IMPROVEMENT:
            assert [b.value for b in spec.legal_basis] == ["legitimate_interest"]
            assert spec.sensitive_requires_explicit_consent
            assert [b.value for b in spec.sensitive_legal_basis] == ["explicit_consent"]
        else:
            assert [b.value for b in spec.legal_basis] == ["contract"]
            assert not spec.sensitive_requires_explicit_consent


def test_fideslang_export(policy: Policy) -> None:
    export = policy.fideslang_export()
    assert export["data_uses"]["provide_features"] == "essential.service"
    assert export["data_uses"]["model_improvement"] == "train_ai_system"
    assert "user.biometrics" in export["data_categories"]["face_features.template"]
    assert export["data_categories"]["identification.name"] == ["user.name"]
    assert export["data_categories"]["identification.address"] == ["user.contact.address"]
    assert "user.government_id" in export["categories"]["identification"]
    assert set(export["data_categories"]) == {e.value for e in DataElement}


def _edited(change: object) -> str:
    data = yaml.safe_load(default_policy_text())
    assert callable(change)
    change(data)
    return yaml.safe_dump(data)


def _drop_category(d: dict) -> None:  # type: ignore[type-arg]
    del d["categories"]["face_features"]


def _widen_element(d: dict) -> None:  # type: ignore[type-arg]
    d["categories"]["account"]["elements"]["user_name"]["purposes"] = ["model_improvement"]


def _unknown_element(d: dict) -> None:  # type: ignore[type-arg]
    d["categories"]["identification"]["elements"]["fingerprint"] = {"title": "x"}


def _sensitive_without_retention(d: dict) -> None:  # type: ignore[type-arg]
    for spec in d["retention"].values():
        spec["elements"] = [e for e in spec["elements"] if e != "identification.face_image"] or ["identification.name"]


def _consent_without_basis(d: dict) -> None:  # type: ignore[type-arg]
    d["purposes"]["model_improvement"]["sensitive_legal_basis"] = []


def _unknown_purpose(d: dict) -> None:  # type: ignore[type-arg]
    d["categories"]["account"]["purposes"].append("marketing")


def _negative_retention(d: dict) -> None:  # type: ignore[type-arg]
    d["retention"]["call_record"]["max_hours"] = -1


def _unknown_subject(d: dict) -> None:  # type: ignore[type-arg]
    d["categories"]["account"]["data_subjects"] = ["aliens"]


@pytest.mark.parametrize(
    "change",
    [
        _drop_category,
        _widen_element,
        _unknown_element,
        _sensitive_without_retention,
        _consent_without_basis,
        _unknown_purpose,
        _negative_retention,
        _unknown_subject,
    ],
)
def test_invalid_policies_are_refused(change: object) -> None:
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(_edited(change))
    assert info.value.error_code == "InternalError.PolicyInvalid"
    assert info.value.status_code == 500


@pytest.mark.parametrize("text", ["::: not yaml [", "- a list\n- not a mapping\n"])
def test_unparseable_policy(text: str) -> None:
    with pytest.raises(PolicyInvalid):
        parse_policy(text)


def test_replacement_file_by_path(tmp_path: Path) -> None:
    def narrow(d: dict) -> None:  # type: ignore[type-arg]
        d["categories"]["identification"]["purposes"] = ["provide_features"]
        d["name"] = "Narrow policy"

    path = tmp_path / "policy.yaml"
    path.write_text(_edited(narrow), encoding="utf-8")
    replaced = load_policy(path)
    assert replaced.name == "Narrow policy"
    assert replaced.allowed_purposes(DataCategory.IDENTIFICATION) == {Purpose.PROVIDE_FEATURES}
    with pytest.raises(PolicyInvalid):
        load_policy(tmp_path / "missing.yaml")


def test_element_purposes_inherit_or_narrow(policy: Policy) -> None:
    assert policy.allowed_purposes(DataElement.NAME) == policy.allowed_purposes(DataCategory.IDENTIFICATION)
    assert policy.needs_consent(Purpose.MODEL_IMPROVEMENT, DataElement.FACE_IMAGE)
    assert not policy.needs_consent(Purpose.MODEL_IMPROVEMENT, DataElement.NAME)
    assert not policy.needs_consent(Purpose.PROVIDE_FEATURES, DataElement.FACE_IMAGE)
