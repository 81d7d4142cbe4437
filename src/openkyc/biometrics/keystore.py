"""Per-app template keys in the database, sealed under the data keys; creation and rotation.

Each key row keeps the template size and version it was made for (``bits``, ``template_version``),
and the :class:`TemplateKey` it unseals to carries them: when a default changes, an app's existing
key keeps making templates of its own size and projection (so its stored templates keep matching),
and ``openkyc keys rotate-template`` moves the app to a new key of the size ``OPENKYC_TEMPLATE_BITS``
names and the current version, re-issuing the templates.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openkyc.biometrics.templates import PLAIN, TemplateKey
from openkyc.errors import ConcurrentUpdate, ResourceNotFound
from openkyc.privacy.crypto import Keyring
from openkyc.store.models.accounts import App
from openkyc.store.models.faces import TemplateKeyRow

_RETRIES = 3


def _aad(key_id: str, app_id: int) -> bytes:
    return f"template-key:{key_id}:{app_id}".encode()


def _unseal(row: TemplateKeyRow, keyring: Keyring) -> TemplateKey:
    secret = keyring.decrypt(row.secret_enc, _aad(row.key_id, row.app_id))
    return TemplateKey(key_id=row.key_id, secret=secret, bits=row.bits, version=row.template_version)


def _new_row(
    keyring: Keyring, app_id: int, bits: int, version: int, now: datetime
) -> tuple[TemplateKeyRow, TemplateKey]:
    key_id = "tk-" + secrets.token_hex(8)
    secret = secrets.token_bytes(32)
    row = TemplateKeyRow(
        key_id=key_id,
        app_id=app_id,
        secret_enc=keyring.encrypt(secret, _aad(key_id, app_id)),
        bits=bits,
        template_version=version,
        active=True,
        created_at=now,
    )
    return row, TemplateKey(key_id=key_id, secret=secret, bits=bits, version=version)


def _active_row(session: Session, app_id: int) -> TemplateKeyRow | None:
    return session.scalar(
        select(TemplateKeyRow)
        .where(TemplateKeyRow.app_id == app_id, TemplateKeyRow.active.is_(True))
        .execution_options(populate_existing=True)
    )


def create_key(
    session: Session, keyring: Keyring, app_id: int, bits: int, now: datetime, *, version: int = PLAIN
) -> TemplateKey:
    """A new active key for the app (rotation); earlier keys stay, inactive, until their templates are re-issued.

    The partial unique index allows one active key per app: a rotation racing another one (or a
    first use) deactivates whatever is active when it retries, so exactly one key stays active.
    """
    # rotations of one app take turns on the app's row (PostgreSQL; SQLite has one writer anyway),
    # so a rotation never races another one into the unique index; the retry stays for first use
    session.execute(select(App.id).where(App.id == app_id).with_for_update())
    for attempt in range(_RETRIES):
        row, key = _new_row(keyring, app_id, bits, version, now)
        try:
            with session.begin_nested():
                session.execute(
                    update(TemplateKeyRow)
                    .where(TemplateKeyRow.app_id == app_id, TemplateKeyRow.active.is_(True))
                    .values(active=False)
                )
                session.add(row)
                session.flush()
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise
            continue
        return key
    raise AssertionError("unreachable")  # pragma: no cover


def active_key(
    session: Session, keyring: Keyring, app_id: int, bits: int, now: datetime, *, version: int = PLAIN
) -> TemplateKey:
    """The app's active key, made on first use; concurrent first uses all get the same one.

    Get-or-create under the partial unique index: the insert runs in a SAVEPOINT, and the loser of
    a race rolls it back and reads the winner's key.
    """
    for _ in range(_RETRIES):
        row = _active_row(session, app_id)
        if row is not None:
            return _unseal(row, keyring)
        new_row, key = _new_row(keyring, app_id, bits, version, now)
        try:
            with session.begin_nested():
                session.add(new_row)
                session.flush()
        except IntegrityError:
            continue  # another request made the app's key first: read it
        return key
    raise ConcurrentUpdate("The template key was changed by concurrent requests; retry.")


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
