"""Fixtures of the store tests: an empty database for migration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dbhelpers import scratch_postgres_database
from openkyc.store import db


@pytest.fixture
def fresh_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    server = os.environ.get("OPENKYC_TEST_DATABASE_URL")
    if not server:
        engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    with scratch_postgres_database(server, "openkyc_mig") as url:
        engine = db.make_engine(url)
        yield engine
        engine.dispose()
