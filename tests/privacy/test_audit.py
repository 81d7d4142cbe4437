from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from conftest import NOW
from openkyc.errors import ConsentRequired
from openkyc.privacy.audit import GENESIS_HASH, AuditEvent, AuditLogSink, DeferredAuditSink, append, verify
from openkyc.privacy.audit_signing import AuditSigner
from openkyc.privacy.gate import InMemoryConsentLookup, PurposeGate
from openkyc.privacy.policy import Policy
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.store.models.privacy import AuditRecord


def fill(factory: sessionmaker[Session], n: int = 5) -> None:
    with factory() as session, session.begin():
        for i in range(n):
            append(
                session,
                AuditEvent.CONFIG_CHANGE,
                actor=f"user:{i}",
                app_id=1,
                details={"rule_id": f"r{i}", "changed": ["threshold"], "n": i, "ok": True},
                now=NOW + timedelta(seconds=i),
            )


def test_chain_appends_and_verifies(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        assert verify(session).ok
        assert verify(session).head_hash == GENESIS_HASH
    fill(factory)
    with factory() as session:
        rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
        report = verify(session)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in pairwise(rows))
    assert report.ok and report.records == 5 and report.head_hash == rows[-1].hash


def _edit_details(session: Session) -> None:
    session.execute(update(AuditRecord).where(AuditRecord.seq == 3).values(details={"n": 99}))


def _edit_time(session: Session) -> None:
    session.execute(update(AuditRecord).where(AuditRecord.seq == 3).values(created_at=NOW - timedelta(days=1)))


def _edit_actor_and_rehash(session: Session) -> None:
    # a forger who recomputes the hash of the edited record cannot recompute its mac
    from openkyc.privacy.audit import record_hash

    row = session.scalars(select(AuditRecord).where(AuditRecord.seq == 3)).one()
    row.actor = "someone-else"
    row.hash = record_hash(
        seq=row.seq, created_at=row.created_at, app_id=row.app_id, actor=row.actor,
        event_type=row.event_type, details=row.details, prev_hash=row.prev_hash,
    )  # fmt: skip


def _delete_middle(session: Session) -> None:
    session.execute(AuditRecord.__table__.delete().where(AuditRecord.seq == 3))


def _delete_first(session: Session) -> None:
    session.execute(AuditRecord.__table__.delete().where(AuditRecord.seq == 1))


def _reorder(session: Session) -> None:
    table = AuditRecord.__table__
    session.execute(update(table).where(table.c.seq == 2).values(seq=-2))
    session.execute(update(table).where(table.c.seq == 3).values(seq=2))
    session.execute(update(table).where(table.c.seq == -2).values(seq=3))


def _delete_and_renumber(session: Session) -> None:
    table = AuditRecord.__table__
    session.execute(table.delete().where(table.c.seq == 3))
    session.execute(update(table).where(table.c.seq == 4).values(seq=3))
    session.execute(update(table).where(table.c.seq == 5).values(seq=4))


@pytest.mark.parametrize(
    ("tamper", "bad_seq"),
    [
        (_edit_details, 3),
        (_edit_time, 3),
        (_edit_actor_and_rehash, 3),  # the hash holds, the mac does not
        (_delete_middle, 3),
        (_delete_first, 1),
        (_reorder, 2),
        (_delete_and_renumber, 3),
    ],
)
def test_tampering_is_detected(factory: sessionmaker[Session], tamper: object, bad_seq: int) -> None:
    fill(factory)
    with factory() as session, session.begin():
        assert callable(tamper)
        tamper(session)
    with factory() as session:
        report = verify(session)
    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert report.reason


def test_truncation_is_detected_by_the_checkpoint(factory: sessionmaker[Session]) -> None:
    fill(factory)
    with factory() as session, session.begin():
        session.execute(AuditRecord.__table__.delete().where(AuditRecord.seq == 5))
    with factory() as session:
        report = verify(session)
    assert not report.ok and report.first_bad_seq == 5 and report.head_seq == 4
    assert report.reason == "records after 4 were removed: a checkpoint names record 5"


def test_truncation_is_detected_with_expected_head(factory: sessionmaker[Session], signer: AuditSigner) -> None:
    unanchored = AuditSigner(signer.key, None)  # no checkpoint file: only the head kept elsewhere tells
    fill(factory)
    with factory() as session:
        head = verify(session, signer=unanchored)
        last = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
    assert last is not None and head.head_hash == last.hash and head.head == f"5:{last.hash}"
    with factory() as session, session.begin():
        session.execute(AuditRecord.__table__.delete().where(AuditRecord.seq == 5))
    with factory() as session:
        assert verify(session, signer=unanchored).ok  # a shorter chain is still a chain ...
        report = verify(session, signer=unanchored, expected_head=(5, head.head_hash))
    assert not report.ok and report.first_bad_seq == 5  # ... but not the one seen before


@pytest.mark.parametrize(
    "details",
    [
        {"name": "x"},
        {"nested": {"id_number": "1"}},
        {"note": "born 1974-08-12"},
        {"note": "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"},
        {"doc": ["L898902C3"]},
        {"blob": "QUJD" * 40},
        {"obj": object()},
    ],
)
def test_personal_data_never_enters_details(factory: sessionmaker[Session], details: dict) -> None:  # type: ignore[type-arg]
    with factory() as session, session.begin():
        with pytest.raises(ValueError):
            append(session, AuditEvent.EXPORT, actor="api", details=details)


@pytest.mark.parametrize("value", ["841996368790813c", "1234567890123456", "a1b2c3d4e5f60718"])
@pytest.mark.parametrize("key", ["subject_ref", "master_key_id"])
def test_a_hex_reference_that_reads_like_a_number_is_recorded(
    factory: sessionmaker[Session], key: str, value: str
) -> None:
    with factory() as session, session.begin():
        record = append(session, AuditEvent.CONFIG_CHANGE, actor="api", details={key: value})
    assert record.details == {key: value}


@pytest.mark.parametrize(
    "details",
    [
        {"subject_ref": "L898902C3"},  # not a 16-hex reference: checked as any value
        {"subject_ref": "84199636879081"},
        {"note": "841996368790813c"},  # only the reference keys are exempt
        {"master_key_id": ["1234567890123456"]},
    ],
)
def test_reference_keys_are_exempt_only_for_16_hex_characters(factory: sessionmaker[Session], details: dict) -> None:  # type: ignore[type-arg]
    with factory() as session, session.begin():
        with pytest.raises(ValueError):
            append(session, AuditEvent.EXPORT, actor="api", details=details)


def test_unknown_event_type(factory: sessionmaker[Session]) -> None:
    with factory() as session, session.begin():
        with pytest.raises(ValueError):
            append(session, "made_up", actor="api")


def test_concurrent_appends_keep_one_chain(factory: sessionmaker[Session]) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                with factory() as session, session.begin():
                    append(session, AuditEvent.CREDENTIAL_EVENT, actor=f"t{n}", details={"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with factory() as session:
        report = verify(session)
    assert report.ok and report.records == 20


def _assert_one_refusal(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        rows = session.scalars(select(AuditRecord)).all()
        assert verify(session).ok
    assert [r.event_type for r in rows] == ["gate_refusal"]
    assert rows[0].app_id == 3
    assert rows[0].details == {
        "purpose": "model_improvement",
        "elements": ["face_features.template"],
        "code": "UnauthorizedOperation.ConsentRequired",
        "subject_given": True,
    }


def test_gate_refusal_survives_rollback(factory: sessionmaker[Session], policy: Policy) -> None:
    gate = PurposeGate(policy, InMemoryConsentLookup(), AuditLogSink(factory, clock=lambda: NOW))
    with pytest.raises(ConsentRequired):
        with factory() as session, session.begin():
            session.scalars(select(AuditRecord)).all()
            gate.check(Purpose.MODEL_IMPROVEMENT, DataElement.TEMPLATE, subject="s", app_id=3)
            append(session, AuditEvent.EXPORT, actor="api", details={"n": 1})  # pragma: no cover
    _assert_one_refusal(factory)


def test_deferred_sink_after_a_write(factory: sessionmaker[Session], policy: Policy) -> None:
    sink = DeferredAuditSink(clock=lambda: NOW)
    gate = PurposeGate(policy, InMemoryConsentLookup(), sink)
    try:
        with pytest.raises(ConsentRequired):
            with factory() as session, session.begin():
                append(session, AuditEvent.EXPORT, actor="api", details={"n": 1})
                gate.check(Purpose.MODEL_IMPROVEMENT, DataElement.TEMPLATE, subject="s", app_id=3)
    finally:
        assert sink.flush(factory) == 1
    assert sink.flush(factory) == 0
    _assert_one_refusal(factory)
