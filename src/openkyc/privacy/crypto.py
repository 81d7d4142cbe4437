"""Encryption at rest: AES-256-GCM under data keys, data keys wrapped by a master key.

* The **master key** (32 random bytes, base64 in a 0600 file created by ``openkyc init`` or given
  by setting) never encrypts data itself; it only wraps data keys. Its id is a short hash of it.
* **Data keys** (32 random bytes each) encrypt identification fields, images, videos, credential
  secrets and template keys. They are stored wrapped (AES-GCM under the master key, with the data
  key id as associated data) in the ``data_keys`` table; one is active for new writes, the others
  stay readable.
* A **sealed value** is ``b"K1" | len(key_id) | key_id | nonce(12) | ciphertext+tag``. The caller
  passes associated data naming what the value is (``b"credential:AKID...``), so a ciphertext
  moved to another row does not decrypt.
* **Subject and record keys** (``sk-...``, ``rk-...``) seal one data subject's personal data, or one
  anonymous record's, and live in the key store apart from the data
  (:mod:`openkyc.store.subject_keys`); erasure destroys them. The key id in each sealed value says
  which key opens it, so values sealed under the shared data keys before per-subject keys existed
  still open: :class:`Keyring` asks its ``resolver`` for a key id it does not hold.

Rotating the master key re-wraps the data keys only (no data is re-encrypted), so it is quick and
needs no downtime: running processes keep their unwrapped data keys in memory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openkyc.errors import InternalError

_MAGIC = b"K1"
_NONCE = 12
KEY_BYTES = 32


class DecryptionError(InternalError):
    code = "InternalError.DecryptionFailed"
    default_message = "Stored data could not be decrypted with the configured keys."


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


@dataclass(frozen=True, repr=False)
class MasterKey:
    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes")

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"openkyc-master-key-id" + self.key).hexdigest()[:16]

    def wrap(self, data_key_id: str, data_key: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + AESGCM(self.key).encrypt(nonce, data_key, data_key_id.encode())

    def unwrap(self, data_key_id: str, wrapped: bytes) -> bytes:
        try:
            return AESGCM(self.key).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], data_key_id.encode())
        except InvalidTag as exc:
            raise DecryptionError("A data key could not be unwrapped with the master key.") from exc

    def unwrap_many(self, wrapped: Iterable[tuple[str, bytes]]) -> dict[str, bytes]:
        """Several ``(key id, wrapped key)`` unwrapped with one cipher context (a batch of keys)."""
        aead = AESGCM(self.key)
        out = {}
        try:
            for key_id, token in wrapped:
                out[key_id] = aead.decrypt(token[:_NONCE], token[_NONCE:], key_id.encode())
        except InvalidTag as exc:
            raise DecryptionError("A data key could not be unwrapped with the master key.") from exc
        return out


def write_master_key_file(path: Path, key: bytes | None = None) -> MasterKey:
    """Create a new master key file with mode 0600; refuses to overwrite an existing one."""
    master = MasterKey(key or new_key())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(master.key) + b"\n")
    return master


def read_master_key_file(path: Path) -> MasterKey:
    try:
        raw = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise InternalError("The master key file is missing or unreadable.") from exc
    return MasterKey(raw)


def seal(key_id: str, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """A sealed value (see the module docstring) under ``key``, named ``key_id``."""
    raw_id = key_id.encode()
    nonce = os.urandom(_NONCE)
    return _MAGIC + bytes([len(raw_id)]) + raw_id + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


STORE_KEY_PREFIXES = ("sk-", "rk-")  # subject and record keys (the key store); data keys are "dk-"


def is_store_key(key_id: str) -> bool:
    """Whether ``key_id`` names a subject or record key (kept in the key store, not ``data_keys``)."""
    return key_id.startswith(STORE_KEY_PREFIXES)


def sealed_key_id(token: bytes) -> str:
    """The id of the key that sealed ``token``; DecryptionError if it is not a sealed value."""
    if token[:2] != _MAGIC or len(token) < 3:
        raise DecryptionError()
    try:
        return token[3 : 3 + token[2]].decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecryptionError() from exc


def unseal(key: bytes, token: bytes, aad: bytes) -> bytes:
    body = token[3 + token[2] :]
    try:
        return AESGCM(key).decrypt(body[:_NONCE], body[_NONCE:], aad)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError() from exc


@dataclass(frozen=True, repr=False)
class SealingKey:
    """One subject's (or one record's) data key, unwrapped: seals that subject's values."""

    key_id: str
    key: bytes

    def __repr__(self) -> str:
        return f"SealingKey(key_id={self.key_id!r})"

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        return seal(self.key_id, self.key, plaintext, aad)

    def encrypt_text(self, text: str, aad: bytes) -> bytes:
        return self.encrypt(text.encode("utf-8"), aad)


@dataclass(repr=False)
class Keyring:
    """Unwrapped data keys in memory; encrypts with the active one, decrypts with any.

    A sealed value whose key id is not one of the shared data keys (a subject or record key) is
    opened with the key ``resolver`` returns for that id (the key store); ``None`` from it, a
    destroyed key, makes the value undecryptable.
    """

    active_id: str
    keys: dict[str, bytes] = field(default_factory=dict)
    resolver: Callable[[str], bytes | None] | None = None

    def __repr__(self) -> str:
        return f"Keyring(active_id={self.active_id!r}, keys={len(self.keys)})"

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        return seal(self.active_id, self.keys[self.active_id], plaintext, aad)

    def key_for(self, key_id: str) -> bytes | None:
        """The key named ``key_id``: a shared data key, else the resolver's (None when destroyed)."""
        key = self.keys.get(key_id)
        if key is None and self.resolver is not None:
            key = self.resolver(key_id)
        return key

    def decrypt(self, token: bytes, aad: bytes) -> bytes:
        key = self.key_for(sealed_key_id(token))
        if key is None:
            raise DecryptionError()
        return unseal(key, token, aad)

    def encrypt_text(self, text: str, aad: bytes) -> bytes:
        return self.encrypt(text.encode("utf-8"), aad)

    def decrypt_text(self, token: bytes, aad: bytes) -> str:
        return self.decrypt(token, aad).decode("utf-8")
