from __future__ import annotations

import json

import pytest

from conftest import NOW
from openkyc.errors import RetentionExceedsPolicy
from openkyc.privacy.policy import Policy, default_policy_text, parse_policy
from openkyc.privacy.ropa import AppRetention, Party, build_record, human_hours, render
from openkyc.privacy.vocabulary import DataCategory, DataElement, Obligation, Purpose, RetentionKind


def record(policy: Policy, apps: list[AppRetention] | None = None):  # type: ignore[no-untyped-def]
    return build_record(
        policy,
        controller=Party(name="Acme <Bank> | Ltd", contact="dpo@acme.example", dpo_contact="dpo"),
        processor=Party(name="OpenKYC self-hosted deployment", contact="ops@acme.example"),
        generated_at=NOW,
        apps=apps or [AppRetention(app_id=4, app_name="signup", rule_id="r1",
                                   overrides={RetentionKind.FACE_IMAGE: 0.5})],
        policy_text=default_policy_text(),
    )  # fmt: skip


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_record_names_every_purpose_category_and_element(policy: Policy, fmt: str) -> None:
    text = render(record(policy), fmt)  # type: ignore[arg-type]
    for item in [*Purpose, *DataCategory, *DataElement, *RetentionKind]:
        assert item.value in text
    for spec in policy.purposes.values():
        assert spec.title in text
    for measure in policy.security_measures:
        assert measure[:40] in text
    assert "2 hours" in text or "2.0" in text
    assert "30 minutes" in text or "0.5" in text


def test_json_is_structured(policy: Policy) -> None:
    data = json.loads(render(record(policy), "json"))
    assert data["controller"]["name"] == "Acme <Bank> | Ltd"
    mi = next(p for p in data["purposes"] if p["key"] == "model_improvement")
    assert mi["legal_basis"] == ["legitimate_interest"]
    assert mi["sensitive_legal_basis"] == ["explicit_consent"]
    assert "identification" in mi["categories"]
    assert len(data["policy_sha256"]) == 64


def test_html_escapes_and_markdown_keeps_tables(policy: Policy) -> None:
    rec = record(policy)
    assert "Acme &lt;Bank&gt;" in render(rec, "html")
    assert "Acme <Bank> \\| Ltd" in render(rec, "md")
    with pytest.raises(ValueError):
        render(rec, "pdf")  # type: ignore[arg-type]


def test_overrides_longer_than_policy_refused(policy: Policy) -> None:
    with pytest.raises(RetentionExceedsPolicy):
        record(policy, [AppRetention(app_id=1, app_name="a", overrides={RetentionKind.FACE_IMAGE: 5})])


@pytest.mark.parametrize(
    ("hours", "text"), [(2, "2 hours"), (1, "1 hour"), (72, "3 days"), (17520, "2 years"), (0.5, "0.5 hours")]
)
def test_human_hours(hours: float, text: str) -> None:
    assert human_hours(hours) == text


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_record_lists_the_obligations_of_the_policy(policy: Policy, fmt: str) -> None:
    """Retention and data-subject rights, from the policy's ``obligations:`` section, with their basis."""
    text = render(record(policy), fmt)  # type: ignore[arg-type]
    assert set(policy.obligations) == set(Obligation)
    for key, spec in policy.obligations.items():
        assert key.value in text and spec.title in text and spec.basis in text
        assert spec.description[:40] in text


def test_obligations_come_from_the_policy_file(policy: Policy) -> None:
    text = default_policy_text().replace(
        "Deleting what the retention periods say must go (storage limitation).",
        "Storage limitation, the sweep deletes what expired (custom wording 7731).",
    )
    changed = parse_policy(text)
    data = json.loads(render(record(changed), "json"))
    by_key = {o["key"]: o for o in data["obligations"]}
    assert list(by_key) == ["retention", "subject_rights"]
    assert by_key["retention"]["description"].endswith("(custom wording 7731).")
    assert by_key["subject_rights"]["basis"] == "legal obligation (GDPR Art. 6(1)(c), 7(3), 15-20)"
    assert "custom wording 7731" in render(record(changed), "md")
