"""Database engine, sessions and migrations (SQLite with WAL by default, PostgreSQL by URL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    ``hide_parameters``: a database error's text (logged with its traceback) never carries the bound
    values, which may be personal data.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "savepoint")
        def _begin_before_savepoint(connection: Any, _name: Any) -> None:
            # The sqlite3 driver opens a transaction only before INSERT/UPDATE/DELETE. A SAVEPOINT
            # issued first would start one of its own, and its RELEASE would commit the work so
            # far: the enclosing transaction could no longer roll it back. Begin it here instead.
            dbapi = connection.connection.dbapi_connection
            if dbapi is not None and not dbapi.in_transaction:
                dbapi.execute("BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine, keys: Any = None) -> Config:
    script_location = str(resources.files("openkyc.store") / "migrations")
    config = Config()
    config.set_main_option("script_location", script_location)
    config.attributes["engine"] = engine
    config.attributes["subject_keys"] = keys
    return config


def upgrade(engine: Engine, revision: str = "head", *, keys: Any = None) -> None:
    """Apply migrations up to ``revision`` (idempotent).

    ``keys`` (a :class:`~openkyc.store.subject_keys.SubjectKeys`) lets a migration that converts
    stored data to keyed hashes and subject keys do so; without it such a migration refuses to run
    on a database that holds data.
    """
    command.upgrade(alembic_config(engine, keys), revision)


def vacuum(engine: Engine, tables: list[str]) -> list[str]:
    """PostgreSQL: ``VACUUM`` ``tables`` so deleted rows leave the pages; returns those vacuumed.

    Run after an erasure. Tables the database user may not vacuum are skipped (logged); other
    backends do nothing (SQLite zeroes deleted pages itself with ``secure_delete``).
    """
    if engine.dialect.name != "postgresql":
        return []
    done = []
    with engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            try:
                autocommit.exec_driver_sql(f'VACUUM "{table}"')
                done.append(table)
            except Exception:  # not the owner, or a replica: the rows are deleted all the same
                logging.getLogger("openkyc.store.db").warning("VACUUM %s was not allowed", table)
    return done


def downgrade(engine: Engine, revision: str = "base", *, keys: Any = None) -> None:
    """Revert migrations down to ``revision``; ``keys`` as for :func:`upgrade` (0010 opens templates)."""
    command.downgrade(alembic_config(engine, keys), revision)


def current_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
