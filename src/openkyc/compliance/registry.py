"""The registry of subject-rights steps, and the tables that are deliberately out of their reach.

:data:`REGISTRY` is :data:`openkyc.privacy.reach.REACH` once :func:`steps` has imported every
context's ``reach`` module. ``tests/compliance/test_registry.py`` walks the SQLAlchemy schema: a
table must be covered by a step (each column either personal, exported and erased, or declared
plain) or listed in :data:`NOT_REACHED` with the reason; a column named like personal data
(``subject_id``, ``client_ip``, ``*_enc``, ...) must be covered, never declared plain.
"""

from __future__ import annotations

import functools

from openkyc.privacy.reach import REACH, ReachRegistry, ReachStep

__all__ = ["NOT_REACHED", "REGISTRY", "steps"]

REGISTRY: ReachRegistry = REACH

NOT_REACHED: dict[str, str] = {
    "erasure_receipts": "Proof of erasure: kinds and counts, the person only as a keyed hash.",
    "data_keys": "Wrapped encryption keys; no personal data.",
    "audit_keys": "The audit log's signing key, wrapped by the master key; no personal data.",
    "seen_signatures": "Request signatures kept 5 minutes against replays; no personal data.",
    "alembic_version": "Schema version.",
}


@functools.cache
def _discovered() -> tuple[str, ...]:
    return tuple(REGISTRY.discover("openkyc"))


def steps() -> tuple[ReachStep, ...]:
    """Every registered step, after importing each context's ``reach`` modules (once per process)."""
    _discovered()
    return REGISTRY.steps
