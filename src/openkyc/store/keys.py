"""Data keys in the database, wrapped by the master key; loading, creation and rotation."""

from __future__ import annotations

import base64
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openkyc.privacy.crypto import Keyring, MasterKey, new_key, read_master_key_file
from openkyc.settings import Settings
from openkyc.store.models.accounts import DataKey


def load_master_key(settings: Settings) -> MasterKey:
    """The master key from the setting, else from the key file."""
    if settings.master_key is not None:
        return MasterKey(base64.b64decode(settings.master_key.get_secret_value()))
    return read_master_key_file(settings.resolved_master_key_file)


def create_data_key(session: Session, master: MasterKey) -> str:
    """A new active data key; earlier ones stay readable but are no longer used for writes."""
    key_id = "dk-" + secrets.token_hex(6)
    session.execute(update(DataKey).values(active=False))
    session.add(
        DataKey(
            id=key_id,
            wrapped_key=master.wrap(key_id, new_key()),
            master_key_id=master.key_id,
            active=True,
            created_at=datetime.now(UTC),
        )
    )
    session.flush()
    return key_id


def load_keyring(session: Session, master: MasterKey) -> Keyring:
    """Every data key unwrapped in memory; creates the first one on an empty database."""
    rows = session.scalars(select(DataKey).order_by(DataKey.created_at)).all()
    if not rows:
        create_data_key(session, master)
        rows = session.scalars(select(DataKey)).all()
    keys = {row.id: master.unwrap(row.id, row.wrapped_key) for row in rows}
    active = next((row.id for row in rows if row.active), rows[-1].id)
    return Keyring(active_id=active, keys=keys)


def rewrap_data_keys(session: Session, old: MasterKey, new: MasterKey) -> int:
    """Master-key rotation: every data key re-wrapped under ``new``; no data is re-encrypted."""
    rows = session.scalars(select(DataKey)).all()
    for row in rows:
        row.wrapped_key = new.wrap(row.id, old.unwrap(row.id, row.wrapped_key))
        row.master_key_id = new.key_id
    session.flush()
    return len(rows)


def replace_master_key_file(path: Path, new: MasterKey) -> Path:
    """Writes the new key beside the old one, keeps the old one as ``.old``, then swaps them."""
    tmp = path.with_suffix(".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(new.key) + b"\n")
    backup = path.with_suffix(".old")
    if path.exists():
        os.replace(path, backup)
    os.replace(tmp, path)
    return backup
