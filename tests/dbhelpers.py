"""Test databases: a fresh migrated SQLite copy, an emptied PostgreSQL database."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import text


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
