from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from conftest import NOW
from openkyc.errors import ConsentRequired, InvalidParameterValue
from openkyc.privacy.consent import ConsentRepository, SqlConsentLookup
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.policy import Policy
from openkyc.privacy.vocabulary import DataElement, Purpose

MI = Purpose.MODEL_IMPROVEMENT


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):  # type: ignore[no-untyped-def]
        self.now += timedelta(minutes=1)
        return self.now


def test_record_withdraw_keeps_history(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        repo = ConsentRepository(session, clock=Clock())
        first = repo.record(1, "subj", MI, "v1")
        again = repo.record(1, "subj", MI, "v1")
        assert again.id == first.id
        repo.record(1, "subj", MI, "v2")
        assert repo.has_consent(1, "subj", MI)
        assert not repo.has_consent(2, "subj", MI)
        assert not repo.has_consent(1, "subj", Purpose.TROUBLESHOOTING)
        withdrawal = repo.withdraw(1, "subj", MI)
        assert withdrawal.consents_withdrawn == 2
        assert not repo.has_consent(1, "subj", MI)
        repo.record(1, "subj", MI, "v3")
        history = repo.history(1, "subj")
    assert [(c.text_version, c.active) for c in history] == [("v1", False), ("v2", False), ("v3", True)]
    assert all(c.granted_at.tzinfo is not None for c in history)
    assert history[0].withdrawn_at is not None and history[0].withdrawn_at > history[0].granted_at
    assert "subj" not in repr(history[0])


def test_withdrawal_removes_model_improvement_items(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        repo = ConsentRepository(session)
        with pytest.raises(ConsentRequired):
            repo.add_item(1, "subj", "face_image", "blob/1")
        repo.record(1, "subj", MI, "v1")
        repo.add_item(1, "subj", "face_image", "blob/1")
        repo.add_item(1, "subj", "face_template", "blob/2")
        repo.record(1, "other", MI, "v1")
        repo.add_item(1, "other", "face_image", "blob/3")
        withdrawal = repo.withdraw(1, "subj", MI)
        assert withdrawal.items_removed == 2
        assert set(withdrawal.blob_refs) == {"blob/1", "blob/2"}
        assert repo.item_refs(1, "subj") == []
        assert repo.item_refs(1, "other") == ["blob/3"]
        assert repo.withdraw(1, "subj", Purpose.TROUBLESHOOTING).consents_withdrawn == 0


def test_erase_subject_counts(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        repo = ConsentRepository(session)
        repo.record(1, "subj", MI, "v1")
        repo.add_item(1, "subj", "face_image", "blob/1")
        assert repo.erase_subject(1, "subj") == {"consents": 1, "model_improvement_items": 1}
        assert repo.history(1, "subj") == []


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
            ConsentRepository(session).record(1, subject, MI, version)
        assert info.value.error_code == code
        assert info.value.status_code == 400


def test_sql_lookup_drives_the_gate(factory: sessionmaker[Session], policy: Policy) -> None:
    gate = PurposeGate(policy, SqlConsentLookup(factory))
    with pytest.raises(ConsentRequired):
        gate.check(MI, DataElement.FACE_IMAGE, subject="subj", app_id=1)
    with factory() as session, session.begin():
        ConsentRepository(session).record(1, "subj", MI, "v1")
    gate.check(MI, DataElement.FACE_IMAGE, subject="subj", app_id=1)
    with factory() as session, session.begin():
        ConsentRepository(session).withdraw(1, "subj", MI)
    with pytest.raises(ConsentRequired):
        gate.check(MI, DataElement.FACE_IMAGE, subject="subj", app_id=1)
