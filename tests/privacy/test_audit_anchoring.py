"""The anchored audit log on SQLite and PostgreSQL: signatures, checkpoints outside the database and
every way of tampering with either (edit, recomputed chain, deleted middle, truncated newest or all,
forged append, stripped signatures, edited or removed checkpoint file)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openkyc.privacy import audit
from openkyc.privacy.audit_signing import (
    AuditKey,
    AuditSigner,
    Checkpoint,
    CheckpointFile,
    load_audit_key,
    rewrap_audit_key,
)
from openkyc.privacy.crypto import MasterKey, new_key
from openkyc.privacy.sweep import run_sweep
from openkyc.store.models.privacy import AuditKeyRow, AuditRecord

RECORDS = 6
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def fill(runtime: Any, n: int = RECORDS, start: int = 0) -> None:
    """``n`` records, each in its own transaction (as services write them)."""
    for i in range(start, start + n):
        with runtime.transaction() as session:
            audit.append(
                session,
                audit.AuditEvent.CONFIG_CHANGE,
                actor=f"user:{i}",
                app_id=7,
                details={"action": "rule_update", "rule_id": f"rule-{i}", "version": i},
                now=NOW + timedelta(seconds=i),
            )


def checkpoint_file(runtime: Any) -> Path:
    path: Path = runtime.settings.resolved_audit_checkpoint_file
    return path


def verify(runtime: Any, **kwargs: Any) -> audit.VerifyReport:
    with runtime.transaction() as session:
        return audit.verify(session, **kwargs)


def _rehash_from(session: Session, seq: int) -> None:
    """What a forger with database access does: recompute every hash from ``seq`` on."""
    rows = session.scalars(select(AuditRecord).where(AuditRecord.seq >= seq - 1).order_by(AuditRecord.seq)).all()
    prev = rows[0].hash if rows[0].seq < seq else audit.GENESIS_HASH
    for row in rows:
        if row.seq < seq:
            continue
        row.prev_hash = prev
        row.hash = audit.record_hash(
            seq=row.seq, created_at=row.created_at, app_id=row.app_id, actor=row.actor,
            event_type=row.event_type, details=row.details, prev_hash=row.prev_hash,
        )  # fmt: skip
        prev = row.hash
    session.flush()


def edit(session: Session) -> None:
    session.execute(update(AuditRecord).where(AuditRecord.seq == 3).values(actor="someone-else"))


def edit_and_recompute_chain(session: Session) -> None:
    session.execute(update(AuditRecord).where(AuditRecord.seq == 3).values(details={"action": "nothing"}))
    _rehash_from(session, 3)


def delete_middle(session: Session) -> None:
    session.execute(AuditRecord.__table__.delete().where(AuditRecord.seq == 3))


def delete_middle_and_renumber(session: Session) -> None:
    table = AuditRecord.__table__
    session.execute(table.delete().where(table.c.seq == 3))
    for seq in range(4, RECORDS + 1):
        session.execute(update(table).where(table.c.seq == seq).values(seq=seq - 1))
    _rehash_from(session, 3)


def truncate_newest(session: Session) -> None:
    session.execute(AuditRecord.__table__.delete().where(AuditRecord.seq > RECORDS - 2))


def truncate_all(session: Session) -> None:
    session.execute(AuditRecord.__table__.delete())


def _forge(session: Session, mac: str | None) -> None:
    last = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).one()
    fields: dict[str, Any] = {
        "seq": last.seq + 1,
        "created_at": last.created_at + timedelta(seconds=1),
        "app_id": 7,
        "actor": "admin",
        "event_type": "erasure",
        "details": {"receipt_id": "forged"},
        "prev_hash": last.hash,
    }
    digest = audit.record_hash(**fields)
    session.add(AuditRecord(**fields, hash=digest, mac=mac))
    session.flush()


def forged_append_unsigned(session: Session) -> None:
    _forge(session, None)


def forged_append_other_key(session: Session) -> None:
    _forge(session, "0" * 64)


def forged_append_record_mac_from_hash(session: Session) -> None:
    # a valid-looking mac: the one of another record (macs bind the hash, so it cannot be reused)
    _forge(session, session.scalars(select(AuditRecord.mac).where(AuditRecord.seq == 1)).one())


def strip_signatures(session: Session) -> None:
    # a downgrade: every mac removed so that the records pass as "legacy", then one edited
    session.execute(update(AuditRecord).values(mac=None))
    session.execute(update(AuditRecord).where(AuditRecord.seq == RECORDS).values(actor="someone-else"))
    _rehash_from(session, RECORDS)


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "reason"),
    [
        (edit, 3, "the record was altered"),
        (edit_and_recompute_chain, 3, "signature does not verify"),
        (delete_middle, 3, "record 3 is missing"),
        (delete_middle_and_renumber, 3, "signature does not verify"),
        (truncate_newest, RECORDS - 1, f"a checkpoint names record {RECORDS}"),
        (truncate_all, 1, f"records after 0 were removed: a checkpoint names record {RECORDS}"),
        (forged_append_unsigned, RECORDS + 1, "the record is unsigned"),
        (forged_append_other_key, RECORDS + 1, "signature does not verify"),
        (forged_append_record_mac_from_hash, RECORDS + 1, "signature does not verify"),
        (strip_signatures, 1, "the record is unsigned"),
    ],
)
def test_tampering_with_the_records_is_detected(
    runtime: Any, tamper: Callable[[Session], None], bad_seq: int, reason: str
) -> None:
    fill(runtime)
    assert verify(runtime).ok
    with runtime.transaction() as session:
        tamper(session)
    report = verify(runtime)
    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert report.reason is not None and reason in report.reason


def test_a_clean_log_passes_with_its_checkpoints(runtime: Any) -> None:
    fill(runtime)
    report = verify(runtime)
    assert report.ok and report.reason is None
    assert (report.records, report.signed, report.legacy, report.checkpoints) == (RECORDS, RECORDS, 0, RECORDS)
    with runtime.transaction() as session:
        rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
        head = audit.current_head(session)
    assert all(r.mac is not None and len(r.mac) == 64 for r in rows)
    assert report.head == f"{RECORDS}:{rows[-1].hash}"
    assert head is not None and head.head == report.head and head.time == "2025-03-01T12:00:05.000000Z"
    lines = [json.loads(line) for line in checkpoint_file(runtime).read_text().splitlines()]
    assert [line["seq"] for line in lines] == list(range(1, RECORDS + 1))
    assert lines[-1] == head.as_dict()
    assert set(lines[0]) == {"seq", "hash", "time", "legacy_until", "mac"}
    assert checkpoint_file(runtime).stat().st_mode & 0o777 == 0o600
    assert verify(runtime, expected_head=(RECORDS, rows[-1].hash)).ok


def _edit_line(path: Path, index: int, **changes: Any) -> None:
    lines = path.read_text().splitlines()
    line = json.loads(lines[index])
    line.update(changes)
    lines[index] = json.dumps(line)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda p: _edit_line(p, -1, seq=3), "line 6 was altered"),
        (lambda p: _edit_line(p, 1, hash="f" * 64), "line 2 was altered"),
        (lambda p: _edit_line(p, 0, legacy_until=5), "line 1 was altered"),
        (lambda p: p.write_text(p.read_text() + "not json\n"), "line 7 was altered"),
        (lambda p: p.unlink(), "no checkpoint found for 6 signed records"),
        (lambda p: p.write_text(""), "no checkpoint found for 6 signed records"),
    ],
)
def test_tampering_with_the_checkpoint_file_is_detected(
    runtime: Any, tamper: Callable[[Path], None], reason: str
) -> None:
    fill(runtime)
    tamper(checkpoint_file(runtime))
    report = verify(runtime)
    assert not report.ok and report.reason is not None and reason in report.reason


def test_a_checkpoint_signed_with_another_key_is_refused(runtime: Any) -> None:
    fill(runtime)
    with runtime.transaction() as session:
        row = session.scalars(select(AuditRecord).where(AuditRecord.seq == RECORDS)).one()
        forged = Checkpoint.sign(AuditKey(new_key()), seq=RECORDS + 5, hash=row.hash, time=NOW, legacy_until=0)
    CheckpointFile(checkpoint_file(runtime)).append(forged)
    report = verify(runtime)
    assert not report.ok and report.reason == "checkpoint file line 7 was altered: its signature does not verify"


def test_truncation_and_refill_is_detected(runtime: Any) -> None:
    # the newest records removed, then new ones appended by the service: seq 5 and 6 exist again
    fill(runtime)
    with runtime.transaction() as session:
        truncate_newest(session)
    fill(runtime, n=2, start=100)
    report = verify(runtime)
    assert not report.ok and report.first_bad_seq == RECORDS - 1
    assert report.reason == f"two checkpoints name different records {RECORDS - 1}: records were removed and rewritten"


def test_no_checkpoint_for_a_rolled_back_record(runtime: Any) -> None:
    fill(runtime, n=2)
    with pytest.raises(RuntimeError), runtime.transaction() as session:
        audit.append(session, audit.AuditEvent.EXPORT, actor="api", details={"items": 1})
        raise RuntimeError("the request failed")
    with runtime.transaction() as session, pytest.raises(RuntimeError), session.begin_nested():
        audit.append(session, audit.AuditEvent.EXPORT, actor="api", details={"items": 1})
        raise RuntimeError("the savepoint failed")
    assert len(checkpoint_file(runtime).read_text().splitlines()) == 2
    with runtime.transaction() as session:  # another savepoint's rollback does not lose it
        audit.append(session, audit.AuditEvent.EXPORT, actor="api", details={"items": 2})
        with pytest.raises(RuntimeError), session.begin_nested():
            raise RuntimeError("an unrelated savepoint failed")
    assert [json.loads(line)["seq"] for line in checkpoint_file(runtime).read_text().splitlines()] == [1, 2, 3]
    report = verify(runtime)
    assert report.ok and report.records == 3


def test_every_n_records_and_forced_at_each_sweep(runtime: Any) -> None:
    with runtime.transaction() as session:
        every_third = AuditSigner(audit.signer_for(session).key, CheckpointFile(checkpoint_file(runtime)), every=3)
    audit.attach_signer(runtime.sessions, every_third)
    fill(runtime, n=7)
    seqs = [json.loads(line)["seq"] for line in checkpoint_file(runtime).read_text().splitlines()]
    assert seqs == [1, 3, 6]  # the first signed record, then every third
    run_sweep(runtime.sweeper, steps=[])
    seqs = [json.loads(line)["seq"] for line in checkpoint_file(runtime).read_text().splitlines()]
    assert seqs == [1, 3, 6, 8]  # the sweep's own record, checkpointed although not due
    assert verify(runtime).ok


def test_legacy_records_before_signing(runtime: Any) -> None:
    """Records written before the upgrade have no mac: accepted up to the first signed one only."""
    fill(runtime, n=3)
    with runtime.transaction() as session:
        session.execute(update(AuditRecord).values(mac=None))  # as the migration leaves them
    checkpoint_file(runtime).unlink()
    with runtime.transaction() as session:
        key = audit.signer_for(session).key
    audit.attach_signer(runtime.sessions, AuditSigner(key, CheckpointFile(checkpoint_file(runtime))))
    fill(runtime, n=3, start=3)
    report = verify(runtime)
    assert report.ok and (report.records, report.legacy, report.signed) == (6, 3, 3)
    assert {json.loads(line)["legacy_until"] for line in checkpoint_file(runtime).read_text().splitlines()} == {3}

    with runtime.transaction() as session:  # the legacy prefix is still chained to what follows
        session.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(actor="someone-else"))
        _rehash_from(session, 2)
    report = verify(runtime)
    assert not report.ok and report.first_bad_seq == 4  # the first signed record no longer verifies


def test_signatures_do_not_move_past_the_legacy_boundary(runtime: Any) -> None:
    fill(runtime, n=3)
    with runtime.transaction() as session:
        session.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(mac=None))
    report = verify(runtime)
    assert not report.ok and report.first_bad_seq == 2 and "unsigned" in (report.reason or "")


def test_the_audit_key_is_wrapped_and_survives_master_key_rotation(runtime: Any) -> None:
    fill(runtime, n=2)
    new = MasterKey(new_key())
    with runtime.transaction() as session:
        before = audit.signer_for(session).key
        row = session.get(AuditKeyRow, "audit-1")
        assert row is not None and before.key not in row.wrapped_key  # never stored in the clear
        assert rewrap_audit_key(session, runtime.master_key, new) == 1
    with runtime.transaction() as session:
        assert load_audit_key(session, new) == before
        assert audit.verify(session, signer=AuditSigner(load_audit_key(session, new), None)).ok


def test_append_without_a_signer_is_refused(runtime: Any) -> None:
    from sqlalchemy.orm import sessionmaker

    from openkyc.errors import InternalError

    bare = sessionmaker(bind=runtime.engine)
    with bare() as session, session.begin(), pytest.raises(InternalError):
        audit.append(session, audit.AuditEvent.EXPORT, actor="api", details={"items": 1})


def test_concurrent_appends_stay_signed_and_anchored(runtime: Any) -> None:
    import threading

    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                with runtime.transaction() as session:
                    audit.append(session, audit.AuditEvent.CREDENTIAL_EVENT, actor=f"t{n}", details={"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(runtime)
    assert report.ok and (report.records, report.signed, report.checkpoints) == (20, 20, 20)
    lines = checkpoint_file(runtime).read_text().splitlines()
    assert sorted(json.loads(line)["seq"] for line in lines) == list(range(1, 21))  # whole lines, none lost
