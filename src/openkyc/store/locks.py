"""Cross-process locks held by the database itself.

On PostgreSQL :func:`try_transaction_lock` takes a transaction-scoped advisory lock
(``pg_try_advisory_xact_lock``): it is released when the transaction ends, also when the process
holding it dies, so a crashed sweep never leaves a stale lock behind. SQLite is the embedded,
single-process default: there the caller's process-local lock is the whole story and this
function always answers ``True``.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["lock_key", "try_transaction_lock"]


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (the same in every process)."""
    return int.from_bytes(hashlib.sha256(f"openkyc:{name}".encode()).digest()[:8], "big", signed=True)


def try_transaction_lock(session: Session, name: str) -> bool:
    """Takes the lock ``name`` for the rest of ``session``'s transaction; False when another holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    acquired = session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(name)})
    return bool(acquired)
