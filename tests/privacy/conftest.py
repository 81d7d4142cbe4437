"""Fixtures for the privacy tests: a temporary SQLite database per test, the shipped policy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openkyc.privacy.audit import attach_signer
from openkyc.privacy.audit_signing import AuditKey, AuditSigner, CheckpointFile
from openkyc.privacy.crypto import MasterKey, new_key
from openkyc.privacy.policy import Policy, load_policy
from openkyc.store.base import Base
from openkyc.store.db import make_engine, session_factory
from openkyc.store.models import privacy as _privacy_tables  # noqa: F401  (registers the tables)
from openkyc.store.subject_keys import SubjectKeys, attach_subject_keys

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'privacy.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def signer(tmp_path: Path) -> AuditSigner:
    """An audit signer with a fresh key and its checkpoint file in the test's folder."""
    return AuditSigner(AuditKey(bytes(range(32))), CheckpointFile(tmp_path / "audit" / "checkpoints.jsonl"))


@pytest.fixture
def subject_keys(tmp_path: Path) -> Iterator[SubjectKeys]:
    """A key store (its own SQLite file) under a fresh master key."""
    keys = SubjectKeys.open(f"sqlite:///{tmp_path / 'keys' / 'keys.db'}", MasterKey(new_key()))
    yield keys
    keys.close()


@pytest.fixture
def factory(engine: Engine, signer: AuditSigner, subject_keys: SubjectKeys) -> sessionmaker[Session]:
    made = session_factory(engine)
    attach_signer(made, signer)
    attach_subject_keys(made, subject_keys)
    return made
