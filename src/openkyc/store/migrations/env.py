"""Alembic environment: the engine is handed in by ``openkyc.store.db.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from openkyc.store.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only reachable from a bare `alembic` call
    raise RuntimeError("run migrations through `openkyc db upgrade`")

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds a table to alter it (batch mode): with foreign keys on, dropping the old
        # table would cascade to every row that references it (deleting an app's subjects when a
        # column of ``apps`` is dropped). SQLite's own procedure: keys off outside the transaction,
        # then ``foreign_key_check`` before commit.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left {len(broken)} rows with a broken foreign key")
    connection.commit()
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
