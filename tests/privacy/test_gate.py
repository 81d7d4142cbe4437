from __future__ import annotations

import pytest
from privacy_cases import CASES, SENSITIVE

from openkyc.errors import ConsentRequired, PurposeNotAllowed
from openkyc.privacy.gate import (
    InMemoryAuditSink,
    InMemoryConsentLookup,
    PurposeGate,
    expand,
)
from openkyc.privacy.guards import (
    REGISTRY,
    RepositoryRegistry,
    requirement_of,
    requires_purpose,
    unguarded_methods,
)
from openkyc.privacy.policy import Policy
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose

APP = 7
SUBJECT = "subject-1"


def make_gate(policy: Policy, *, consent: bool = False) -> tuple[PurposeGate, InMemoryAuditSink]:
    lookup = InMemoryConsentLookup()
    if consent:
        lookup.grant(APP, SUBJECT, Purpose.MODEL_IMPROVEMENT)
    sink = InMemoryAuditSink()
    return PurposeGate(policy, lookup, sink), sink


@pytest.mark.parametrize(("category", "purpose", "allowed"), CASES)
def test_every_category_and_purpose(policy: Policy, category: DataCategory, purpose: Purpose, allowed: bool) -> None:
    gate, sink = make_gate(policy, consent=True)
    if allowed:
        decision = gate.check(purpose, category, subject=SUBJECT, app_id=APP)
        assert decision.elements == expand([category])
        assert sink.refusals == []
    else:
        with pytest.raises(PurposeNotAllowed) as info:
            gate.check(purpose, category, subject=SUBJECT, app_id=APP)
        assert info.value.error_code == "UnauthorizedOperation.PurposeNotAllowed"
        assert info.value.status_code == 403
        assert len(sink.refusals) == 1
        assert sink.refusals[0].code == "UnauthorizedOperation.PurposeNotAllowed"


@pytest.mark.parametrize("element", list(DataElement))
@pytest.mark.parametrize(
    ("consent", "subject", "app_id"),
    [(True, SUBJECT, APP), (False, SUBJECT, APP), (True, None, APP), (True, SUBJECT, None),
     (True, "someone-else", APP)],
)  # fmt: skip
def test_model_improvement_consent_cases(
    policy: Policy,
    element: DataElement,
    consent: bool,
    subject: str | None,
    app_id: int | None,
) -> None:
    gate, sink = make_gate(policy, consent=consent)
    permitted = Purpose.MODEL_IMPROVEMENT in policy.allowed_purposes(element)
    consented = consent and subject == SUBJECT and app_id == APP
    if not permitted:
        with pytest.raises(PurposeNotAllowed):
            gate.check(Purpose.MODEL_IMPROVEMENT, element, subject=subject, app_id=app_id)
    elif element in SENSITIVE and not consented:
        with pytest.raises(ConsentRequired) as info:
            gate.check(Purpose.MODEL_IMPROVEMENT, element, subject=subject, app_id=app_id)
        assert info.value.error_code == "UnauthorizedOperation.ConsentRequired"
        assert sink.refusals[0].elements == (element,)
        assert sink.refusals[0].subject_given is (subject is not None)
    else:
        decision = gate.check(Purpose.MODEL_IMPROVEMENT, element, subject=subject, app_id=app_id)
        assert decision.consent_checked is (element in SENSITIVE)
        assert sink.refusals == []


def test_withdrawn_consent_refuses_again(policy: Policy) -> None:
    gate, _ = make_gate(policy, consent=True)
    gate.check(Purpose.MODEL_IMPROVEMENT, DataElement.TEMPLATE, subject=SUBJECT, app_id=APP)
    assert isinstance(gate.consent_lookup, InMemoryConsentLookup)
    gate.consent_lookup.withdraw(APP, SUBJECT, Purpose.MODEL_IMPROVEMENT)
    with pytest.raises(ConsentRequired):
        gate.check(Purpose.MODEL_IMPROVEMENT, DataElement.TEMPLATE, subject=SUBJECT, app_id=APP)


def test_mixed_request_refused_as_a_whole(policy: Policy) -> None:
    gate, sink = make_gate(policy)
    with pytest.raises(PurposeNotAllowed):
        gate.check(Purpose.BILLING, [DataElement.CALL_RECORD, DataElement.NAME], app_id=APP)
    assert sink.refusals[0].elements == (DataElement.NAME,)
    assert gate.allows(Purpose.BILLING, DataElement.CALL_RECORD)


def test_refusal_message_and_record_hold_no_subject(policy: Policy) -> None:
    gate, sink = make_gate(policy)
    with pytest.raises(ConsentRequired) as info:
        gate.check(Purpose.MODEL_IMPROVEMENT, DataElement.FACE_IMAGE, subject="ANNA-42", app_id=APP)
    assert "ANNA-42" not in str(info.value)
    assert "ANNA-42" not in repr(sink.refusals[0])


@pytest.mark.parametrize("bad", ["provide_features", None, 3])
def test_gate_needs_enum_purpose(policy: Policy, bad: object) -> None:
    gate, _ = make_gate(policy)
    with pytest.raises(TypeError):
        gate.check(bad, DataCategory.ACCOUNT)  # type: ignore[arg-type]


def test_gate_needs_items(policy: Policy) -> None:
    gate, _ = make_gate(policy)
    with pytest.raises(ValueError):
        gate.check(Purpose.BILLING, [])


# ---------------------------------------------------------------- repositories require purposes

local = RepositoryRegistry()


@local.register
class FaceRepository:
    def __init__(self, gate: PurposeGate, app_id: int) -> None:
        self.gate = gate
        self.app_id = app_id
        self.calls = 0

    @requires_purpose(DataElement.FACE_IMAGE, DataElement.TEMPLATE)
    def load(self, subject_id: str, *, purpose: Purpose) -> str:
        self.calls += 1
        return f"face of {len(subject_id)}"

    @requires_purpose(DataCategory.DIAGNOSTIC_USAGE)
    def usage(self, *, purpose: Purpose) -> int:
        return 1


@local.register
class LeakyRepository:
    gate: PurposeGate

    @requires_purpose(DataCategory.ACCOUNT)
    def fine(self, *, purpose: Purpose) -> None:
        return None

    def leak(self) -> str:
        return "all names"

    @property
    def everything(self) -> str:
        return "all"


def test_decorated_method_checks_through_the_gate(policy: Policy) -> None:
    gate, sink = make_gate(policy, consent=True)
    repo = FaceRepository(gate, APP)
    assert repo.load("abc", purpose=Purpose.PROVIDE_FEATURES) == "face of 3"
    assert repo.load(SUBJECT, purpose=Purpose.MODEL_IMPROVEMENT) == "face of 9"
    with pytest.raises(ConsentRequired):
        repo.load("other", purpose=Purpose.MODEL_IMPROVEMENT)
    with pytest.raises(PurposeNotAllowed):
        repo.usage(purpose=Purpose.MAINTAIN_CONFIGURATION)
    assert repo.calls == 2
    assert len(sink.refusals) == 2
    requirement = requirement_of(FaceRepository.load)
    assert requirement is not None
    assert requirement.elements == (DataElement.TEMPLATE, DataElement.FACE_IMAGE)


def test_purpose_is_required(policy: Policy) -> None:
    gate, _ = make_gate(policy)
    repo = FaceRepository(gate, APP)
    with pytest.raises(TypeError):
        repo.load("abc")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        repo.load("abc", purpose="provide_features")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "source",
    [
        "def m(self, purpose): ...",
        "def m(self, *, purpose=None): ...",
        "def m(self): ...",
    ],
)
def test_decorator_refuses_methods_without_required_keyword(source: str) -> None:
    namespace: dict[str, object] = {}
    exec(source, namespace)
    with pytest.raises(TypeError):
        requires_purpose(DataCategory.ACCOUNT)(namespace["m"])  # type: ignore[arg-type]


def test_method_walker_finds_unguarded_methods() -> None:
    assert unguarded_methods(FaceRepository) == []
    assert local.unguarded() == {
        f"{__name__}.LeakyRepository": [
            "LeakyRepository.leak",
            "LeakyRepository.everything (property)",
        ]
    }


def test_every_registered_personal_data_repository_requires_a_purpose() -> None:
    REGISTRY.discover("openkyc")
    assert REGISTRY.unguarded() == {}
