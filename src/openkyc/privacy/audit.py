"""The append-only, hash-chained audit log.

Each record holds ``seq`` (1, 2, 3, ...), a UTC timestamp, ``app_id``, ``actor``, ``event_type``,
``details`` (JSON, never personal data) and ``prev_hash``; its ``hash`` is SHA-256 over a canonical
JSON serialisation of all of these, so the records form a chain from ``GENESIS_HASH``.
:func:`verify` walks the chain and reports the first record that was edited, deleted, inserted
or reordered. Deleting the *last* records leaves a valid shorter chain: pass the head last seen
(``expected_head``, e.g. kept by monitoring or printed by ``openkyc audit verify``) to detect that.

Appends serialise: on PostgreSQL a transaction-level advisory lock is taken; on SQLite a no-op
write takes the database write lock before the last record is read. The unique ``seq`` constraint
backs both; a conflicting append is retried inside a savepoint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from openkyc.privacy.gate import GateRefusal
from openkyc.privacy.redaction import contains_personal_data
from openkyc.store.models.privacy import AuditRecord

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "AuditLogSink",
    "DeferredAuditSink",
    "VerifyReport",
    "append",
    "record_hash",
    "verify",
]

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 0x6F6B5963_6175  # "okyc" "au": one key for the audit chain
_RETRIES = 5
_FORBIDDEN_KEYS = frozenset(
    {
        "name", "full_name", "address", "id_number", "document_number", "date_of_birth",
        "birth_date", "dob", "image", "video", "template", "embedding", "face", "photo",
        "subject_id", "mrz",
    }
)  # fmt: skip


class AuditEvent(StrEnum):
    CONFIG_CHANGE = "config_change"
    CREDENTIAL_EVENT = "credential_event"
    GATE_REFUSAL = "gate_refusal"
    CONSENT = "consent"
    EXPORT = "export"
    ERASURE = "erasure"
    KEY_ROTATION = "key_rotation"
    RETENTION_SWEEP = "retention_sweep"
    ACCOUNT_EVENT = "account_event"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _canonical_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_hash(
    *,
    seq: int,
    created_at: datetime,
    app_id: int | None,
    actor: str,
    event_type: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of a record's fields, ``prev_hash`` included."""
    canonical = json.dumps(
        {
            "seq": seq,
            "created_at": _canonical_time(created_at),
            "app_id": app_id,
            "actor": actor,
            "event_type": event_type,
            "details": details,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _check_details(details: Mapping[str, Any], path: str = "details") -> None:
    for key, value in details.items():
        if not isinstance(key, str):
            raise ValueError(f"{path}: keys must be strings")
        if key.lower() in _FORBIDDEN_KEYS:
            raise ValueError(f"{path}.{key}: personal data does not go into the audit log")
        _check_value(value, f"{path}.{key}")


def _check_value(value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        _check_details(value, path)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_value(item, f"{path}[{index}]")
    elif isinstance(value, str):
        if contains_personal_data(value):
            raise ValueError(f"{path}: the value looks like personal data")
    elif value is not None and not isinstance(value, bool | int | float):
        raise ValueError(f"{path}: only JSON values are allowed")


def _lock_chain(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    elif dialect == "sqlite":
        session.execute(text("UPDATE audit_log SET seq = seq WHERE 0"))


def append(
    session: Session,
    event_type: AuditEvent | str,
    *,
    actor: str,
    app_id: int | None = None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditRecord:
    """Append one record in the caller's transaction and return it (flushed, not committed).

    Raises ``ValueError`` when ``details`` holds a personal-data key or value.
    """
    event = AuditEvent(event_type).value
    payload = dict(details or {})
    _check_details(payload)
    json.dumps(payload, allow_nan=False)  # must be plain JSON
    created_at = (now or _utcnow()).astimezone(UTC)
    _lock_chain(session)
    for attempt in range(_RETRIES):
        last = session.execute(
            select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
        ).first()
        seq, prev = (last[0] + 1, last[1]) if last is not None else (1, GENESIS_HASH)
        row = AuditRecord(
            seq=seq,
            created_at=created_at,
            app_id=app_id,
            actor=actor,
            event_type=event,
            details=payload,
            prev_hash=prev,
            hash=record_hash(
                seq=seq,
                created_at=created_at,
                app_id=app_id,
                actor=actor,
                event_type=event,
                details=payload,
                prev_hash=prev,
            ),
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise
            continue
        return row
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_hash: str = GENESIS_HASH


def verify(session: Session, *, expected_head: tuple[int, str] | None = None) -> VerifyReport:
    """Walk the chain in ``seq`` order; ``expected_head`` is a ``(seq, hash)`` seen earlier."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    seen_head = False
    for row in session.scalars(select(AuditRecord).order_by(AuditRecord.seq)):
        count += 1
        if row.seq != expected_seq:
            return VerifyReport(False, count, expected_seq, f"record {expected_seq} is missing", prev_hash)
        if row.prev_hash != prev_hash:
            return VerifyReport(False, count, row.seq, "prev_hash does not match the record before", prev_hash)
        computed = record_hash(
            seq=row.seq,
            created_at=row.created_at,
            app_id=row.app_id,
            actor=row.actor,
            event_type=row.event_type,
            details=row.details,
            prev_hash=row.prev_hash,
        )
        if computed != row.hash:
            return VerifyReport(False, count, row.seq, "the record was altered", prev_hash)
        if expected_head is not None and row.seq == expected_head[0]:
            if row.hash != expected_head[1]:
                return VerifyReport(False, count, row.seq, "differs from the expected head", prev_hash)
            seen_head = True
        prev_hash = row.hash
        expected_seq += 1
    if expected_head is not None and not seen_head:
        return VerifyReport(False, count, count + 1, "records after the last one were removed", prev_hash)
    return VerifyReport(True, count, None, None, prev_hash)


class AuditLogSink:
    """The gate's :class:`~openkyc.privacy.gate.AuditSink`: each refusal in its own transaction,
    so it survives the rollback of the refused request's transaction.

    On SQLite (one writer at a time) check the gate before the request's transaction writes, or
    use :class:`DeferredAuditSink`; otherwise the sink waits for the request's own write lock.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        actor: str = "purpose-gate",
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.factory = factory
        self.actor = actor
        self.clock = clock

    def __repr__(self) -> str:
        return f"AuditLogSink(actor={self.actor!r})"

    def gate_refusal(self, refusal: GateRefusal) -> None:
        with self.factory() as session, session.begin():
            append(
                session,
                AuditEvent.GATE_REFUSAL,
                actor=self.actor,
                app_id=refusal.app_id,
                now=self.clock(),
                details=_refusal_details(refusal),
            )


def _refusal_details(refusal: GateRefusal) -> dict[str, Any]:
    return {
        "purpose": refusal.purpose.value,
        "elements": [element.value for element in refusal.elements],
        "code": refusal.code,
        "subject_given": refusal.subject_given,
    }


class DeferredAuditSink:
    """Collects refusals in memory; :meth:`flush` writes them after the request's transaction.

    Use it where the refused request may already hold SQLite's single write lock (a second
    transaction from :class:`AuditLogSink` would wait on it): the service calls ``flush`` in a
    ``finally`` after its own transaction has ended (committed or rolled back).
    """

    def __init__(self, *, actor: str = "purpose-gate", clock: Callable[[], datetime] = _utcnow):
        self.actor = actor
        self.clock = clock
        self.pending: list[tuple[datetime, GateRefusal]] = []

    def __repr__(self) -> str:
        return f"DeferredAuditSink(pending={len(self.pending)})"

    def gate_refusal(self, refusal: GateRefusal) -> None:
        self.pending.append((self.clock(), refusal))

    def flush(self, factory: sessionmaker[Session]) -> int:
        pending, self.pending = self.pending, []
        if pending:
            with factory() as session, session.begin():
                for when, refusal in pending:
                    append(
                        session,
                        AuditEvent.GATE_REFUSAL,
                        actor=self.actor,
                        app_id=refusal.app_id,
                        now=when,
                        details=_refusal_details(refusal),
                    )
        return len(pending)
