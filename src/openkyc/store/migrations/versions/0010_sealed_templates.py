"""sealed face templates: every stored template sealed under its subject's own key

``subjects.template`` held the protected template (``FaceTemplate`` bytes, ``OKFT...``) in plain, so
copies of it survived an erasure in PostgreSQL dead tuples, the WAL and backups. Each one is now
sealed (AES-256-GCM) under the key of its subject (the key that already seals ``subject_id_enc``),
with ``template:{app_id}:{collection_id}:{keyed subject hash}`` as associated data: destroying the
key, as erasure does first, leaves every copy undecryptable.

The subject's key is named by ``subject_id_enc`` (migration 0009 filled it for every row) and read
from the key store, which ``openkyc db upgrade`` and ``openkyc serve`` hand to the migration. A
row whose key is already destroyed belongs to a subject whose erasure stopped between its two
steps: the row is deleted (with its index event), as the erasure would have done. Rows are
converted in chunks of 1,000 (keyset by id), one key-store read per chunk.

Without the key store the conversion cannot run: on a database holding templates the migration
stops with a message instead. The downgrade opens the templates again (it needs the key store too).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from openkyc.privacy.crypto import seal, sealed_key_id, unseal

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_EVENTS = sa.table(
    "index_events",
    sa.column("collection_id", sa.String()),
    sa.column("subject_row", sa.Integer()),
    sa.column("op", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_PLAIN = b"OKFT"  # FaceTemplate bytes start so; a sealed value starts b"K1"
_CHUNK = 1000


def _aad(app_id: int, collection_id: str, subject_ref: str) -> bytes:
    return f"template:{app_id}:{collection_id}:{subject_ref}".encode()


def _keys(bind: sa.Connection, *, direction: str) -> Any:
    keys = context.config.attributes.get("subject_keys")
    if keys is None and bind.exec_driver_sql("SELECT 1 FROM subjects LIMIT 1").first() is not None:
        raise RuntimeError(
            f"migration 0010 ({direction}) seals or opens stored face templates and needs the key store and "
            "master key: run `openkyc db upgrade` (or `openkyc serve`) with the master key available"
        )
    return keys


def _chunks(bind: sa.Connection) -> Any:
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, app_id, collection_id, subject_id, subject_id_enc, template FROM subjects "
                "WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _CHUNK},
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def upgrade() -> None:
    bind = op.get_bind()
    keys = _keys(bind, direction="upgrade")
    if keys is None:
        return
    now = datetime.now(UTC)
    for rows in _chunks(bind):
        plain = [r for r in rows if bytes(r[5])[:4] == _PLAIN]
        found = keys.keys(sealed_key_id(bytes(r[4])) for r in plain if r[4] is not None)
        for row_id, app_id, collection_id, ref, sealed_id, template in plain:
            key_id = sealed_key_id(bytes(sealed_id)) if sealed_id is not None else None
            key = found.get(key_id) if key_id is not None else None
            if key is None or key_id is None:  # erased (its key destroyed): finish the erasure
                bind.execute(
                    _EVENTS.insert().values(
                        collection_id=collection_id, subject_row=row_id, op="remove", created_at=now
                    )
                )
                bind.execute(sa.text("DELETE FROM subjects WHERE id = :id"), {"id": row_id})
                continue
            bind.execute(
                sa.text("UPDATE subjects SET template = :t WHERE id = :id"),
                {"t": seal(key_id, key, bytes(template), _aad(app_id, collection_id, ref)), "id": row_id},
            )


def downgrade() -> None:
    bind = op.get_bind()
    keys = _keys(bind, direction="downgrade")
    if keys is None:
        return
    for rows in _chunks(bind):
        sealed = [r for r in rows if bytes(r[5])[:4] != _PLAIN]
        found = keys.keys(sealed_key_id(bytes(r[5])) for r in sealed)
        for row_id, app_id, collection_id, ref, _sealed_id, token in sealed:
            key = found.get(sealed_key_id(bytes(token)))
            if key is None:  # shredded: no template can be given back
                bind.execute(sa.text("DELETE FROM subjects WHERE id = :id"), {"id": row_id})
                continue
            bind.execute(
                sa.text("UPDATE subjects SET template = :t WHERE id = :id"),
                {"t": unseal(key, bytes(token), _aad(app_id, collection_id, ref)), "id": row_id},
            )
