"""A keyring that follows key rotations made by other processes, without a restart.

``openkyc keys rotate-data`` (another process) adds a data key to the database and makes it the
active one; ``keys rotate-template`` and ``credentials create`` then seal new secrets under it. A
running ``serve`` that unwrapped its data keys at start-up would meet a key id it does not hold and
answer 500 ``InternalError.DecryptionFailed`` until restarted. :class:`LiveKeyring`:

* on a sealed value whose key id it does not hold, reloads the data keys from the database (once,
  under a lock: concurrent requests that meet the same new key wait for one reload) and decrypts;
* before encrypting, reloads when the last load is older than ``refresh_seconds``, so new writes
  move to the rotated active key within that time (a failed reload keeps the current key and is
  logged, never failing the write);
* unwraps new data keys with the master key it holds, and when that fails (``keys rotate-master``
  re-wrapped them under a new master key) reads the master key again from its file or setting.

Readers never lock: the key map is replaced as a whole (one reference assignment), never mutated.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openkyc.privacy.crypto import DecryptionError, Keyring, MasterKey, is_store_key
from openkyc.store import db
from openkyc.store.models.accounts import DataKey

log = logging.getLogger("openkyc.keys")

REFRESH_SECONDS = 60.0


def sealed_key_id(token: bytes) -> str | None:
    """The data key id a sealed value names (``b"K1" | len | id | ...``), or None if malformed."""
    if token[:2] != b"K1" or len(token) < 3 or len(token) < 3 + token[2]:
        return None
    try:
        return token[3 : 3 + token[2]].decode()
    except UnicodeDecodeError:
        return None


class LiveKeyring(Keyring):
    """A :class:`Keyring` that reloads its data keys from the database when they change."""

    def __init__(
        self,
        loaded: Keyring,
        sessions: sessionmaker[Session],
        master: MasterKey,
        read_master: Callable[[], MasterKey],
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(active_id=loaded.active_id, keys=dict(loaded.keys))
        self._sessions = sessions
        self._master = master
        self._read_master = read_master
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._loaded_at = monotonic()
        self._lock = threading.Lock()
        self.reloads = 0  # diagnostics and tests

    @property
    def master(self) -> MasterKey:
        return self._master

    def decrypt(self, token: bytes, aad: bytes) -> bytes:
        key_id = sealed_key_id(token)
        if key_id is None:
            raise DecryptionError()
        if key_id not in self.keys and not is_store_key(key_id):  # subject/record keys: the key store
            self.reload(wanted=key_id)
        return super().decrypt(token, aad)

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        if self._monotonic() - self._loaded_at >= self._refresh_seconds:
            try:
                self.reload()
            except Exception:  # the current active key still encrypts correctly
                log.warning("data keys not reloaded; writing with the current key", exc_info=True)
        return super().encrypt(plaintext, aad)

    def reload(self, wanted: str | None = None) -> None:
        """Reads the data keys again; ``wanted``: skip when another thread already brought it in."""
        with self._lock:
            if wanted is not None and wanted in self.keys:
                return
            with db.transaction(self._sessions) as session:
                rows = [(row.id, row.wrapped_key, row.active) for row in session.scalars(select(DataKey))]
            keys = dict(self.keys)
            for key_id, wrapped, _active in rows:
                if key_id not in keys:
                    keys[key_id] = self._unwrap(key_id, wrapped)
            active = next((key_id for key_id, _, is_active in rows if is_active), self.active_id)
            self.keys = keys  # one assignment: readers see the old map or the new one
            self.active_id = active
            self._loaded_at = self._monotonic()
            self.reloads += 1
        log.info("data keys reloaded", extra={"data_keys": len(keys), "active_data_key": active})

    def _unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        try:
            return self._master.unwrap(key_id, wrapped)
        except DecryptionError:
            fresh = self._read_master()  # the master key was rotated by another process
            if fresh.key_id == self._master.key_id:
                raise
            key = fresh.unwrap(key_id, wrapped)
            self._master = fresh
            return key
