from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from conftest import NOW
from openkyc.errors import ConsentRequired, InvalidParameterValue, PurposeNotAllowed
from openkyc.privacy import ledger
from openkyc.privacy.consent import ConsentRepository, SqlConsentLookup
from openkyc.privacy.gate import InMemoryAuditSink, InMemoryConsentLookup, PurposeGate
from openkyc.privacy.guards import requirement_of
from openkyc.privacy.policy import Policy, load_policy
from openkyc.privacy.vocabulary import DataElement, Obligation, Purpose
from openkyc.store.models.privacy import Consent

MI = Purpose.MODEL_IMPROVEMENT
RIGHTS = Obligation.SUBJECT_RIGHTS


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):  # type: ignore[no-untyped-def]
        self.now += timedelta(minutes=1)
        return self.now


def _gate(*granted: str) -> PurposeGate:
    """The shipped policy; ``granted`` subjects of app 1 count as consenting to model improvement."""
    lookup = InMemoryConsentLookup()
    for subject in granted:
        lookup.grant(1, subject, MI)
    return PurposeGate(load_policy(), lookup, InMemoryAuditSink())


def _repo(session: Session, *granted: str, clock: Clock | None = None) -> ConsentRepository:
    return ConsentRepository(session, _gate(*granted), clock=clock or Clock())


def test_record_withdraw_keeps_history(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        repo = _repo(session)
        first = repo.record(1, "subj", MI, "v1", purpose=MI)
        again = repo.record(1, "subj", MI, "v1", purpose=MI)
        assert again.id == first.id
        repo.record(1, "subj", MI, "v2", purpose=MI)
        assert repo.has_consent(1, "subj", MI, purpose=MI)
        assert not repo.has_consent(2, "subj", MI, purpose=MI)
        assert not repo.has_consent(1, "subj", Purpose.TROUBLESHOOTING, purpose=MI)
        withdrawal = repo.withdraw(1, "subj", MI, purpose=RIGHTS)
        assert withdrawal.consents_withdrawn == 2
        assert not repo.has_consent(1, "subj", MI, purpose=MI)
        repo.record(1, "subj", MI, "v3", purpose=MI)
        history = repo.history(1, "subj", purpose=RIGHTS)
    assert [(c.text_version, c.active) for c in history] == [("v1", False), ("v2", False), ("v3", True)]
    assert all(c.granted_at.tzinfo is not None for c in history)
    assert history[0].withdrawn_at is not None and history[0].withdrawn_at > history[0].granted_at
    assert "subj" not in repr(history[0])


def test_withdrawal_removes_model_improvement_items(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        repo = _repo(session, "subj", "other")
        with pytest.raises(ConsentRequired):  # the gate lets it through (in-memory consent); no row: refused
            repo.add_item(1, "subj", "face_image", "blob/1", purpose=MI)
        repo.record(1, "subj", MI, "v1", purpose=MI)
        repo.add_item(1, "subj", "face_image", "blob/1", purpose=MI)
        repo.add_item(1, "subj", "face_template", "blob/2", purpose=MI)
        repo.record(1, "other", MI, "v1", purpose=MI)
        repo.add_item(1, "other", "face_image", "blob/3", purpose=MI)
        withdrawal = repo.withdraw(1, "subj", MI, purpose=RIGHTS)
        assert withdrawal.items_removed == 2
        assert set(withdrawal.blob_refs) == {"blob/1", "blob/2"}
        assert repo.item_refs(1, "subj", purpose=RIGHTS) == []
        assert repo.item_refs(1, "other", purpose=RIGHTS) == ["blob/3"]
        assert repo.withdraw(1, "subj", Purpose.TROUBLESHOOTING, purpose=RIGHTS).consents_withdrawn == 0


def test_erase_subject_counts(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        repo = _repo(session, "subj")
        repo.record(1, "subj", MI, "v1", purpose=MI)
        repo.add_item(1, "subj", "face_image", "blob/1", purpose=MI)
        assert repo.erase_subject(1, "subj", purpose=RIGHTS) == {"consents": 1, "model_improvement_items": 1}
        assert repo.history(1, "subj", purpose=RIGHTS) == []


def test_consent_records_are_gated_at_the_storage_boundary(factory: sessionmaker[Session]) -> None:
    """Every method states a purpose; the gate decides before any row is read or written."""
    for name in ("record", "withdraw", "has_consent", "history", "add_item", "item_refs", "erase_subject"):
        requirement = requirement_of(getattr(ConsentRepository, name))
        assert requirement is not None and DataElement.SUBJECT_ID in requirement.elements, name
    gate = _gate()
    with factory() as session, session.begin():
        repo = ConsentRepository(session, gate)
        with pytest.raises(TypeError):
            repo.record(1, "subj", MI, "v1")  # type: ignore[call-arg]
        with pytest.raises(PurposeNotAllowed):  # identification data is never used for billing
            repo.record(1, "subj", Purpose.BILLING, "v1", purpose=Purpose.BILLING)
        with pytest.raises(ConsentRequired):  # an item is a face image: the gate asks for consent itself
            repo.add_item(1, "subj", "face_image", "blob/1", purpose=MI)
        assert session.scalars(select(Consent)).all() == []  # refused before anything was written
        repo.record(1, "subj", MI, "v1", purpose=MI)
        assert repo.withdraw(1, "subj", MI, purpose=RIGHTS).consents_withdrawn == 1  # an obligation: never refused
    assert [r.code for r in gate.audit_sink.refusals] == [  # type: ignore[union-attr]
        "UnauthorizedOperation.PurposeNotAllowed",
        "UnauthorizedOperation.ConsentRequired",
    ]


def test_each_use_is_a_decision_then_a_touch_in_the_ledger(factory: sessionmaker[Session]) -> None:
    with ledger.open_ledger("test") as record, factory() as session, session.begin():
        _repo(session).record(1, "subj", MI, "v1", purpose=MI)
    assert [d.purpose for d in record.decisions] == [MI.value]
    assert [(t.what, t.kind) for t in record.touches] == [("ConsentRepository.record", ledger.WRITE)]
    assert record.uncovered() == []


@pytest.mark.parametrize(
    ("subject", "version", "code"),
    [
        ("", "v1", "InvalidParameterValue.SubjectId"),
        ("x" * 129, "v1", "InvalidParameterValue.SubjectId"),
        ("subj", " ", "InvalidParameterValue.ConsentTextVersion"),
        ("subj", "v" * 65, "InvalidParameterValue.ConsentTextVersion"),
    ],
)
def test_bad_consent_input(factory: sessionmaker[Session], subject: str, version: str, code: str) -> None:
    with factory() as session, session.begin():
        with pytest.raises(InvalidParameterValue) as info:
            _repo(session).record(1, subject, MI, version, purpose=MI)
        assert info.value.error_code == code
        assert info.value.status_code == 400


def test_sql_lookup_drives_the_gate(factory: sessionmaker[Session], policy: Policy) -> None:
    gate = PurposeGate(policy, SqlConsentLookup(factory))
    with pytest.raises(ConsentRequired):
        gate.check(MI, DataElement.FACE_IMAGE, subject="subj", app_id=1)
    with factory() as session, session.begin():
        _repo(session).record(1, "subj", MI, "v1", purpose=MI)
    gate.check(MI, DataElement.FACE_IMAGE, subject="subj", app_id=1)
    with factory() as session, session.begin():
        _repo(session).withdraw(1, "subj", MI, purpose=RIGHTS)
    with pytest.raises(ConsentRequired):
        gate.check(MI, DataElement.FACE_IMAGE, subject="subj", app_id=1)
