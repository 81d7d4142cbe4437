"""Migrations from empty, on SQLite and (with OPENKYC_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from openkyc.store import db
from openkyc.store.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_from_empty_and_back(tmp_path: Any, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        engine = db.make_engine(url)
        assert db.current_tables(engine) == set()
        db.upgrade(engine)
        assert set(Base.metadata.tables) <= db.current_tables(engine)
        db.downgrade(engine, "base")
        assert db.current_tables(engine) <= {"alembic_version"}
        db.upgrade(engine)
        engine.dispose()
    else:
        engine = db.make_engine(database_url)
        assert set(Base.metadata.tables) <= db.current_tables(engine)
        db.upgrade(engine)  # idempotent on an up-to-date database
        engine.dispose()


def test_sqlite_pragmas(tmp_path: Any) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
