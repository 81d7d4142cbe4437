"""Per-app template keys in the database, sealed under the data keys; creation and rotation."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openkyc.biometrics.templates import TemplateKey
from openkyc.errors import ResourceNotFound
from openkyc.privacy.crypto import Keyring
from openkyc.store.models.faces import TemplateKeyRow


def _aad(key_id: str, app_id: int) -> bytes:
    return f"template-key:{key_id}:{app_id}".encode()


def _unseal(row: TemplateKeyRow, keyring: Keyring) -> TemplateKey:
    return TemplateKey(key_id=row.key_id, secret=keyring.decrypt(row.secret_enc, _aad(row.key_id, row.app_id)))


def create_key(session: Session, keyring: Keyring, app_id: int, bits: int, now: datetime) -> TemplateKey:
    """A new active key for the app; earlier keys stay until their templates are re-issued."""
    key_id = "tk-" + secrets.token_hex(8)
    secret = secrets.token_bytes(32)
    session.execute(update(TemplateKeyRow).where(TemplateKeyRow.app_id == app_id).values(active=False))
    session.add(
        TemplateKeyRow(
            key_id=key_id,
            app_id=app_id,
            secret_enc=keyring.encrypt(secret, _aad(key_id, app_id)),
            bits=bits,
            active=True,
            created_at=now,
        )
    )
    session.flush()
    return TemplateKey(key_id=key_id, secret=secret)


def active_key(session: Session, keyring: Keyring, app_id: int, bits: int, now: datetime) -> TemplateKey:
    row = session.scalar(select(TemplateKeyRow).where(TemplateKeyRow.app_id == app_id, TemplateKeyRow.active.is_(True)))
    if row is None:
        return create_key(session, keyring, app_id, bits, now)
    return _unseal(row, keyring)


def key_by_id(session: Session, keyring: Keyring, app_id: int, key_id: str) -> TemplateKey:
    row = session.get(TemplateKeyRow, key_id)
    if row is None or row.app_id != app_id:
        raise ResourceNotFound("The template key does not exist.", code="ResourceNotFound.TemplateKey")
    return _unseal(row, keyring)


def retire_unused(session: Session, app_id: int, in_use: set[str]) -> int:
    """Deletes inactive keys that no template uses any more (after re-enrolment)."""
    rows = session.scalars(
        select(TemplateKeyRow).where(TemplateKeyRow.app_id == app_id, TemplateKeyRow.active.is_(False))
    ).all()
    removed = 0
    for row in rows:
        if row.key_id not in in_use:
            session.delete(row)
            removed += 1
    session.flush()
    return removed
