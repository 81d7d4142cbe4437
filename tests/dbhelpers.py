"""Test databases: a fresh migrated SQLite copy, an emptied PostgreSQL database."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def copy_sqlite_template(template: Path, folder: Path) -> str:
    """A fresh migrated SQLite database in ``folder/data`` (copied from the session's template)."""
    target = folder / "data" / "openkyc.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, target)
    return f"sqlite:///{target}"


def truncate_all(url: str) -> None:
    """Empties every table of the PostgreSQL test database (ids restart)."""
    from openkyc.store import db
    from openkyc.store.models import Base

    engine = db.make_engine(url)
    with engine.begin() as connection:
        names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@contextmanager
def scratch_postgres_database(server_url: str, prefix: str = "openkyc_scratch") -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``server_url``'s, dropped afterwards; yields its URL."""
    from openkyc.store import db

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(db.make_engine(server_url).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
