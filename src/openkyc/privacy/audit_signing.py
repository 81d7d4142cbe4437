"""What anchors the audit log outside the database: the audit key and the signed checkpoints.

* The **audit key** (32 random bytes) signs every record: ``mac = HMAC-SHA256(audit key,
  "openkyc-audit-record-v1:" + hash)``, and ``hash`` covers every field and the record before. The
  key is stored only wrapped by the master key (table ``audit_keys``, AES-GCM with the key id as
  associated data), so whoever holds the database alone can neither read it nor sign a record.
  Master-key rotation re-wraps it like the data keys: old signatures stay valid and running
  processes keep signing with the key they unwrapped at start.
* A **checkpoint** ``{seq, hash, time, legacy_until, mac}`` states that record ``seq`` (written at
  ``time``) had ``hash``; its mac signs all four fields under another label, so a record's mac is
  never a valid checkpoint mac. Checkpoints are appended, one JSON line each, to a file outside the
  database (``OPENKYC_AUDIT_CHECKPOINT_FILE``): every ``OPENKYC_AUDIT_CHECKPOINT_EVERY`` records,
  for the first signed record, after each retention sweep and on ``openkyc audit checkpoint``. They
  are written after the record's transaction commits, never for a record that was rolled back.
* ``legacy_until`` is the number of records written before signing began (their ``mac`` is NULL:
  the migration that added the column had no master key to sign them with). ``verify`` accepts
  unsigned records only up to it.

``openkyc audit head`` prints the statement for the newest record, for safekeeping elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openkyc.privacy.crypto import MasterKey, new_key
from openkyc.store.models.privacy import AuditKeyRow, AuditRecord

__all__ = [
    "AUDIT_KEY_ID",
    "AuditKey",
    "AuditSigner",
    "Checkpoint",
    "CheckpointFile",
    "CheckpointLine",
    "canonical_time",
    "load_audit_key",
    "rewrap_audit_key",
]

log = logging.getLogger("openkyc.audit")

AUDIT_KEY_ID = "audit-1"
_RECORD_LABEL = b"openkyc-audit-record-v1:"
_CHECKPOINT_LABEL = "openkyc-audit-checkpoint-v1"
_PENDING = "openkyc.audit_pending_checkpoint"
_LISTENING = "openkyc.audit_listening"
_TAIL_BYTES = 64 * 1024


def canonical_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, repr=False)
class AuditKey:
    key: bytes

    def __repr__(self) -> str:
        return "AuditKey(...)"

    def record_mac(self, record_hash: str) -> str:
        return hmac.new(self.key, _RECORD_LABEL + record_hash.encode("ascii"), hashlib.sha256).hexdigest()

    def record_mac_ok(self, record_hash: str, mac: str) -> bool:
        return hmac.compare_digest(self.record_mac(record_hash), mac)

    def checkpoint_mac(self, *, seq: int, hash: str, time: str, legacy_until: int) -> str:
        statement = json.dumps(
            {"kind": _CHECKPOINT_LABEL, "seq": seq, "hash": hash, "time": time, "legacy_until": legacy_until},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hmac.new(self.key, statement.encode("ascii"), hashlib.sha256).hexdigest()


def load_audit_key(session: Session, master: MasterKey) -> AuditKey:
    """The audit key unwrapped with the master key; created (and wrapped) on first use."""
    row = session.get(AuditKeyRow, AUDIT_KEY_ID)
    if row is None:
        try:
            with session.begin_nested():
                row = AuditKeyRow(
                    id=AUDIT_KEY_ID,
                    wrapped_key=master.wrap(AUDIT_KEY_ID, new_key()),
                    master_key_id=master.key_id,
                    created_at=datetime.now(UTC),
                )
                session.add(row)
        except IntegrityError:  # another process created it first
            row = session.scalars(select(AuditKeyRow).where(AuditKeyRow.id == AUDIT_KEY_ID)).one()
    return AuditKey(master.unwrap(row.id, row.wrapped_key))


def rewrap_audit_key(session: Session, old: MasterKey, new: MasterKey) -> int:
    """Master-key rotation: the audit key re-wrapped under ``new`` (its signatures stay valid)."""
    rows = session.scalars(select(AuditKeyRow)).all()
    for row in rows:
        row.wrapped_key = new.wrap(row.id, old.unwrap(row.id, row.wrapped_key))
        row.master_key_id = new.key_id
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that record ``seq`` had ``hash``; also the shape ``audit head`` prints."""

    seq: int
    hash: str
    time: str
    legacy_until: int
    mac: str

    @classmethod
    def sign(cls, key: AuditKey, *, seq: int, hash: str, time: datetime, legacy_until: int) -> Checkpoint:
        when = canonical_time(time)
        mac = key.checkpoint_mac(seq=seq, hash=hash, time=when, legacy_until=legacy_until)
        return cls(seq=seq, hash=hash, time=when, legacy_until=legacy_until, mac=mac)

    def valid(self, key: AuditKey) -> bool:
        expected = key.checkpoint_mac(seq=self.seq, hash=self.hash, time=self.time, legacy_until=self.legacy_until)
        return hmac.compare_digest(expected, self.mac)

    @property
    def head(self) -> str:
        """``SEQ:HASH``, the form ``openkyc audit verify --expected-head`` takes."""
        return f"{self.seq}:{self.hash}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, line: str) -> Checkpoint:
        """Raises ``ValueError`` for anything but one well-formed checkpoint object."""
        data = json.loads(line)
        if not isinstance(data, dict) or set(data) != {"seq", "hash", "time", "legacy_until", "mac"}:
            raise ValueError("not a checkpoint")
        seq, digest, when, legacy, mac = (data[k] for k in ("seq", "hash", "time", "legacy_until", "mac"))
        if not (isinstance(seq, int) and isinstance(legacy, int) and seq >= 1 and legacy >= 0):
            raise ValueError("not a checkpoint")
        if not all(isinstance(v, str) for v in (digest, when, mac)):
            raise ValueError("not a checkpoint")
        return cls(seq=seq, hash=digest, time=when, legacy_until=legacy, mac=mac)


@dataclass(frozen=True)
class CheckpointLine:
    """One line of the checkpoint file: its number, and the checkpoint or ``None`` if unreadable."""

    number: int
    checkpoint: Checkpoint | None


class CheckpointFile:
    """An append-only JSON-lines file (mode 0600); appends are single ``O_APPEND`` writes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"CheckpointFile({str(self.path)!r})"

    def append(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(checkpoint.as_dict(), sort_keys=True, separators=(",", ":")) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)

    def lines(self) -> Iterator[CheckpointLine]:
        """Every non-empty line; a missing file has none."""
        try:
            handle = self.path.open("r", encoding="ascii", errors="replace")
        except FileNotFoundError:
            return
        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    yield CheckpointLine(number, Checkpoint.parse(raw))
                except ValueError:
                    yield CheckpointLine(number, None)

    def last_valid(self, key: AuditKey) -> Checkpoint | None:
        """The newest line that parses and whose mac holds (only the file's tail is read)."""
        try:
            with self.path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - _TAIL_BYTES))
                tail = handle.read().decode("ascii", errors="replace")
        except FileNotFoundError:
            return None
        for raw in reversed(tail.splitlines()):
            try:
                checkpoint = Checkpoint.parse(raw)
            except ValueError:
                continue
            if checkpoint.valid(key):
                return checkpoint
        return None


class AuditSigner:
    """The audit key, the checkpoint file and when to write to it; one per runtime.

    Attached to a session factory with :func:`openkyc.privacy.audit.attach_signer`, so that every
    session it makes can sign appends without each caller handling the key.
    """

    def __init__(self, key: AuditKey, checkpoints: CheckpointFile | None = None, *, every: int = 1) -> None:
        if every < 0:
            raise ValueError("every must be 0 (sweeps and on demand only) or more")
        self.key = key
        self.checkpoints = checkpoints
        self.every = every
        self._lock = threading.Lock()
        last = checkpoints.last_valid(key) if checkpoints is not None else None
        self._has_checkpoint = last is not None
        self._legacy_until = last.legacy_until if last is not None else None

    def __repr__(self) -> str:
        return f"AuditSigner(checkpoints={self.checkpoints!r}, every={self.every})"

    def legacy_until(self, session: Session, next_seq: int) -> int:
        """Records written before signing began: from the checkpoints, else from the database."""
        if self._legacy_until is None:
            first_signed = session.scalar(select(func.min(AuditRecord.seq)).where(AuditRecord.mac.is_not(None)))
            self._legacy_until = first_signed - 1 if first_signed is not None else next_seq - 1
        return self._legacy_until

    def checkpoint_for(self, session: Session, row: AuditRecord) -> Checkpoint:
        return Checkpoint.sign(
            self.key,
            seq=row.seq,
            hash=row.hash,
            time=row.created_at,
            legacy_until=self.legacy_until(session, row.seq),
        )

    def write(self, checkpoint: Checkpoint) -> None:
        if self.checkpoints is None:
            return
        with self._lock:
            self.checkpoints.append(checkpoint)
            self._has_checkpoint = True

    def schedule(self, session: Session, row: AuditRecord, *, force: bool = False) -> None:
        """Write a checkpoint of ``row`` once the session's transaction commits, when one is due."""
        if self.checkpoints is None:
            return
        due = force or not self._has_checkpoint or (self.every > 0 and row.seq % self.every == 0)
        if not due:
            return
        checkpoint = self.checkpoint_for(session, row)
        pending = session.info.get(_PENDING)
        if pending is None or pending[2].seq <= checkpoint.seq:
            session.info[_PENDING] = (self, row, checkpoint)
        if not session.info.get(_LISTENING):
            event.listen(session, "after_commit", _write_pending)
            session.info[_LISTENING] = True


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    signer, row, checkpoint = pending
    if not inspect(row).persistent:  # its transaction or savepoint was rolled back: no such record
        return
    try:
        signer.write(checkpoint)
    except OSError:
        log.exception("audit checkpoint not written", extra={"seq": checkpoint.seq})
