"""per-subject keys and keyed hashes: subject ids and BizTokens hashed, sealed copies of subject ids

Adds ``subjects.subject_id_enc`` and ``verification_results.subject_id_enc``. Existing rows are
converted with the key store (``openkyc.store.subject_keys``), which ``openkyc db upgrade`` and
``openkyc serve`` hand to the migration:

* ``subject_id`` in subjects, verification_results, blobs, consents and model_improvement_items,
  and ``verification_sessions.biz_token``, are replaced by their keyed hashes;
* the subject id is sealed under the subject's new key into ``subject_id_enc``;
* identification fields of enrolments and verification results are re-sealed under the subject's
  key (or, for a result of no subject, under a record key expiring with it), so erasure shreds them.

Blob files and sessions' extra data stay sealed under the shared data keys they were written with
(they expire within hours, the policy's media and session periods) and still decrypt. Without the
key store the conversion cannot run: on a database holding rows the migration stops with a message
instead. The downgrade drops the new columns; the hashes cannot be turned back into ids.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from openkyc.privacy.crypto import Keyring, sealed_key_id, unseal

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_HASHED = (
    ("blobs", "id", "subject_id"),
    ("consents", "id", "subject_id"),
    ("model_improvement_items", "id", "subject_id"),
)


def upgrade() -> None:
    bind = op.get_bind()
    keys = context.config.attributes.get("subject_keys")
    convert = _has_rows(bind)
    if convert and keys is None:  # refused before any change (SQLite does not roll DDL back)
        raise RuntimeError(
            "migration 0009 hashes stored subject ids and needs the key store and master key: "
            "run `openkyc db upgrade` (or `openkyc serve`) with the master key available"
        )
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_id_enc", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("verification_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_id_enc", sa.LargeBinary(), nullable=True))
    if convert:
        _convert(bind, keys)


def downgrade() -> None:
    with op.batch_alter_table("verification_results", schema=None) as batch_op:
        batch_op.drop_column("subject_id_enc")
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_column("subject_id_enc")


def _has_rows(bind: sa.Connection) -> bool:
    tables = ["subjects", "verification_results", "verification_sessions"] + [t for t, _, _ in _HASHED]
    return any(bind.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is not None for table in tables)


def _legacy_keyring(bind: sa.Connection, keys: Any) -> Keyring:
    rows = bind.exec_driver_sql("SELECT id, wrapped_key FROM data_keys").all()
    unwrapped = {key_id: keys.master.unwrap(key_id, bytes(wrapped)) for key_id, wrapped in rows}
    return Keyring(active_id=next(iter(unwrapped), ""), keys=unwrapped)


def _utc(value: Any) -> datetime:
    """A timestamp read with plain SQL (SQLite gives text, naive; PostgreSQL a datetime)."""
    parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _reseal(legacy: Keyring, key: Any, token: bytes | None, aad: bytes) -> bytes | None:
    if token is None:
        return None
    token = bytes(token)
    if legacy.key_for(sealed_key_id(token)) is None:
        return token  # already under a subject or record key
    return bytes(key.encrypt(unseal(legacy.keys[sealed_key_id(token)], token, aad), aad))


def _convert(bind: sa.Connection, keys: Any) -> None:
    legacy = _legacy_keyring(bind, keys)
    subjects = bind.exec_driver_sql(
        "SELECT id, app_id, collection_id, subject_id, identification_enc FROM subjects WHERE subject_id_enc IS NULL"
    ).all()
    for row_id, app_id, collection_id, subject_id, ident in subjects:
        key = keys.for_subject(app_id, subject_id)
        ref = keys.subject_ref(app_id, subject_id)
        bind.execute(
            sa.text("UPDATE subjects SET subject_id = :ref, subject_id_enc = :sid, identification_enc = :ident "
                    "WHERE id = :id"),
            {
                "ref": ref,
                "sid": key.encrypt(subject_id.encode(), f"subject-id:{app_id}:{ref}".encode()),
                "ident": _reseal(legacy, key, ident, f"subject:{app_id}:{collection_id}:{subject_id}".encode()),
                "id": row_id,
            },
        )  # fmt: skip
    results = bind.exec_driver_sql(
        "SELECT id, app_id, subject_id, identification_enc, expires_at FROM verification_results "
        "WHERE subject_id_enc IS NULL"
    ).all()
    for result_id, app_id, subject_id, ident, expires_at in results:
        aad = f"verification:{result_id}:{app_id}".encode()
        if subject_id is None:
            if ident is not None:
                key = keys.for_record(app_id, _utc(expires_at))
                bind.execute(
                    sa.text("UPDATE verification_results SET identification_enc = :ident WHERE id = :id"),
                    {"ident": _reseal(legacy, key, ident, aad), "id": result_id},
                )
            continue
        key = keys.for_subject(app_id, subject_id)
        bind.execute(
            sa.text("UPDATE verification_results SET subject_id = :ref, subject_id_enc = :sid, "
                    "identification_enc = :ident WHERE id = :id"),
            {
                "ref": keys.subject_ref(app_id, subject_id),
                "sid": key.encrypt(subject_id.encode(), f"verification-subject:{result_id}:{app_id}".encode()),
                "ident": _reseal(legacy, key, ident, aad),
                "id": result_id,
            },
        )  # fmt: skip
    for table, pk, column in _HASHED:
        rows = bind.exec_driver_sql(f"SELECT {pk}, app_id, {column} FROM {table} WHERE {column} IS NOT NULL").all()
        for row_id, app_id, subject_id in rows:
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :ref WHERE {pk} = :id"),
                {"ref": keys.subject_ref(app_id, subject_id), "id": row_id},
            )
    for (token,) in bind.exec_driver_sql("SELECT biz_token FROM verification_sessions").all():
        bind.execute(
            sa.text("UPDATE verification_sessions SET biz_token = :ref WHERE biz_token = :token"),
            {"ref": keys.token_ref(token), "token": token},
        )
