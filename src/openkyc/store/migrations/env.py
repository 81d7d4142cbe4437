"""Alembic environment: the engine is handed in by ``openkyc.store.db.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from openkyc.store.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only reachable from a bare `alembic` call
    raise RuntimeError("run migrations through `openkyc db upgrade`")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
