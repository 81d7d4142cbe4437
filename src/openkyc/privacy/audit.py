"""The append-only, hash-chained, signed audit log.

Each record holds ``seq`` (1, 2, 3, ...), a UTC timestamp, ``app_id``, ``actor``, ``event_type``,
``details`` (JSON, never personal data) and ``prev_hash``; its ``hash`` is SHA-256 over a canonical
JSON serialisation of all of these, so the records form a chain from ``GENESIS_HASH``. Its ``mac``
signs ``hash`` with the audit key, which is not in the database (only wrapped by the master key),
and signed checkpoints are kept in a file outside the database (see
:mod:`openkyc.privacy.audit_signing`).

:func:`verify` walks the chain and reports the first record that was edited (even with the chain
recomputed: the mac no longer holds), deleted, inserted, reordered, forged (no valid mac) or
removed from the end (a checkpoint, or the ``expected_head`` kept elsewhere, names a later record),
and a checkpoint file line that was edited. Trust model: docs/audit.md.

Appends serialise: on PostgreSQL a transaction-level advisory lock is taken; on SQLite a no-op
write takes the database write lock before the last record is read. The unique ``seq`` constraint
backs both; a conflicting append is retried inside a savepoint. The signer comes from the session
(:func:`attach_signer` on the session factory, done by the runtime) unless passed explicitly.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from openkyc.errors import InternalError
from openkyc.privacy.audit_signing import AuditSigner, Checkpoint, canonical_time
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
    "attach_signer",
    "current_head",
    "record_hash",
    "signer_for",
    "verify",
]

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 0x6F6B5963_6175  # "okyc" "au": one key for the audit chain
_RETRIES = 5
_SIGNER = "openkyc.audit_signer"
_FORBIDDEN_KEYS = frozenset(
    {
        "name", "full_name", "address", "id_number", "document_number", "date_of_birth",
        "birth_date", "dob", "image", "video", "template", "embedding", "face", "photo",
        "subject_id", "mrz",
    }
)  # fmt: skip
# Keyed references and key ids recorded as 16 lowercase hex characters: pseudonyms, not personal
# data, though one of them now and then reads like an ID number (``841996368790813c``).
_HEX_REFERENCE_KEYS = frozenset({"subject_ref", "master_key_id"})
_HEX_REFERENCE = re.compile(r"[0-9a-f]{16}")


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


def attach_signer(factory: sessionmaker[Session], signer: AuditSigner) -> None:
    """Every session ``factory`` makes from now on signs its audit appends with ``signer``."""
    info = dict(factory.kw.get("info") or {})
    info[_SIGNER] = signer
    factory.configure(info=info)


def signer_for(session: Session) -> AuditSigner:
    signer = session.info.get(_SIGNER)
    if not isinstance(signer, AuditSigner):
        raise InternalError("The audit log has no signing key: the session factory has no audit signer attached.")
    return signer


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
            "created_at": canonical_time(created_at),
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
        if key in _HEX_REFERENCE_KEYS and isinstance(value, str) and _HEX_REFERENCE.fullmatch(value):
            continue
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
    signer: AuditSigner | None = None,
    checkpoint: bool = False,
) -> AuditRecord:
    """Append one signed record in the caller's transaction and return it (flushed, not committed).

    ``checkpoint`` writes a checkpoint of it once the transaction commits, whether or not one is
    due. Raises ``ValueError`` when ``details`` holds a personal-data key or value.
    """
    signer = signer or signer_for(session)
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
        digest = record_hash(
            seq=seq,
            created_at=created_at,
            app_id=app_id,
            actor=actor,
            event_type=event,
            details=payload,
            prev_hash=prev,
        )
        row = AuditRecord(
            seq=seq,
            created_at=created_at,
            app_id=app_id,
            actor=actor,
            event_type=event,
            details=payload,
            prev_hash=prev,
            hash=digest,
            mac=signer.key.record_mac(digest),
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise
            continue
        signer.schedule(session, row, force=checkpoint)
        return row
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found. ``head_seq``/``head_hash``: the last record that checked out."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_hash: str = GENESIS_HASH
    head_seq: int = 0
    signed: int = 0
    legacy: int = 0
    checkpoints: int = 0
    last_checkpoint: Checkpoint | None = None

    @property
    def head(self) -> str:
        return f"{self.head_seq}:{self.head_hash}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "signed": self.signed,
            "legacy_unsigned": self.legacy,
            "checkpoints": self.checkpoints,
            "last_checkpoint": self.last_checkpoint.as_dict() if self.last_checkpoint else None,
            "head": self.head,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class _Anchors:
    by_seq: dict[int, Checkpoint]
    legacy_until: int | None
    problem: str | None = None
    problem_seq: int | None = None

    @property
    def newest(self) -> Checkpoint | None:
        return self.by_seq[max(self.by_seq)] if self.by_seq else None


def _read_anchors(signer: AuditSigner) -> _Anchors:
    """The checkpoint file, each line's mac checked; any bad line is a finding of its own."""
    by_seq: dict[int, Checkpoint] = {}
    legacy: set[int] = set()
    if signer.checkpoints is None:
        return _Anchors(by_seq, None)
    for line in signer.checkpoints.lines():
        checkpoint = line.checkpoint
        if checkpoint is None or not checkpoint.valid(signer.key):
            return _Anchors(
                by_seq, None, f"checkpoint file line {line.number} was altered: its signature does not verify"
            )
        seen = by_seq.get(checkpoint.seq)
        if seen is not None and seen.hash != checkpoint.hash:
            reason = f"two checkpoints name different records {checkpoint.seq}: records were removed and rewritten"
            return _Anchors(by_seq, None, reason, checkpoint.seq)
        by_seq[checkpoint.seq] = checkpoint
        legacy.add(checkpoint.legacy_until)
    if len(legacy) > 1:
        return _Anchors(by_seq, None, "checkpoints disagree on how many unsigned records preceded signing")
    return _Anchors(by_seq, legacy.pop() if legacy else None)


def verify(
    session: Session,
    *,
    expected_head: tuple[int, str] | None = None,
    signer: AuditSigner | None = None,
    require_checkpoint: bool = True,
) -> VerifyReport:
    """Walk the chain in ``seq`` order, checking hashes, macs and checkpoints.

    ``expected_head`` is a ``(seq, hash)`` kept elsewhere (``openkyc audit head``). Records with
    no mac pass only as the legacy prefix written before signing began. Signed records with no
    checkpoint at all fail unless ``require_checkpoint`` is false (re-anchoring after a restore).
    """
    signer = signer or signer_for(session)
    anchors = _read_anchors(signer)
    count = signed = legacy = 0
    prev_hash, head_seq = GENESIS_HASH, 0
    seen_head = False

    def report(bad_seq: int | None = None, reason: str | None = None) -> VerifyReport:
        return VerifyReport(
            ok=reason is None,
            records=count,
            first_bad_seq=bad_seq,
            reason=reason,
            head_hash=prev_hash,
            head_seq=head_seq,
            signed=signed,
            legacy=legacy,
            checkpoints=len(anchors.by_seq),
            last_checkpoint=anchors.newest,
        )

    if anchors.problem is not None:
        return report(anchors.problem_seq, anchors.problem)
    for row in session.scalars(select(AuditRecord).order_by(AuditRecord.seq)):
        count += 1
        if row.seq != head_seq + 1:
            return report(head_seq + 1, f"record {head_seq + 1} is missing")
        if row.prev_hash != prev_hash:
            return report(row.seq, "prev_hash does not match the record before")
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
            return report(row.seq, "the record was altered")
        if row.mac is None:
            limit = anchors.legacy_until
            if (row.seq > limit) if limit is not None else signed > 0:
                return report(row.seq, "the record is unsigned: forged, or its signature was removed")
            legacy += 1
        elif signer.key.record_mac_ok(row.hash, row.mac):
            signed += 1
        else:
            return report(row.seq, "the record's signature does not verify: it was altered or forged")
        anchor = anchors.by_seq.get(row.seq)
        if anchor is not None and anchor.hash != row.hash:
            return report(row.seq, f"differs from the checkpoint taken at {anchor.time}")
        if expected_head is not None and row.seq == expected_head[0]:
            if row.hash != expected_head[1]:
                return report(row.seq, "differs from the expected head")
            seen_head = True
        prev_hash, head_seq = row.hash, row.seq
    newest = anchors.newest
    if newest is not None and newest.seq > head_seq:
        return report(head_seq + 1, f"records after {head_seq} were removed: a checkpoint names record {newest.seq}")
    if expected_head is not None and not seen_head:
        return report(head_seq + 1, "records after the last one were removed: the expected head is later")
    if require_checkpoint and signed and newest is None and signer.checkpoints is not None:
        return report(
            None, f"no checkpoint found for {signed} signed records: the checkpoint file was removed or replaced"
        )
    return report()


def current_head(session: Session, signer: AuditSigner | None = None) -> Checkpoint | None:
    """A signed statement of the newest record (what ``openkyc audit head`` prints); ``None`` if empty."""
    signer = signer or signer_for(session)
    row = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).first()
    return None if row is None else signer.checkpoint_for(session, row)


class AuditLogSink:
    """The gate's :class:`~openkyc.privacy.gate.AuditSink`: each refusal in its own transaction,
    so it survives the rollback of the refused request's transaction.

    Inside an API request the gate does not call it at once: the refusal waits in the request's
    ledger (:mod:`openkyc.privacy.ledger`) and the gateway calls the sink after the request's
    transactions have ended, so it never waits on the request's own SQLite write lock. Outside a
    request (CLI, sweeps) it is called at once.
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
