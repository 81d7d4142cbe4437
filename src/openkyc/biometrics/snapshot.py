"""Encrypted snapshots of a collection's 1:N index, so that a large index loads in seconds.

Reading millions of templates through the database (and, once templates are sealed per subject,
unsealing each) takes minutes; a snapshot file holds the collection's packed codes and row ids as
the index has them in memory, read back in bulk. It is never the source of truth: after reading
it, the loader reads the rows newer than its watermark and replays the ``index_events`` since its
last event, exactly as a running process does (see :mod:`openkyc.biometrics.search`).

Encryption: AES-256-GCM, in chunks of at most 64 MiB (nonce per chunk, the collection, index
and chunk number as associated data), under a *snapshot key* created for each write in the key
store (a record key, ``rk-``, expiring after ``OPENKYC_INDEX_SNAPSHOT_HOURS``). Rewriting a
snapshot destroys the key of the file it replaces; the retention sweep destroys expired keys.
A snapshot whose key is gone cannot be read, and is ignored (the index is read from the
database instead): an erased template can survive in a readable snapshot file at most until the
next rewrite or the key's expiry, whichever comes first, and never reaches an answer meanwhile
(events remove it at load, and answers are named from the database).

File ``DATA_DIR/index/<collection_id>.snap``: ``OKIX1\\n``, a 4-byte big-endian header length, the
JSON header (collection, app, snapshot key id, watermark, last event, indexes with key id, bits
and size), then per index the sealed chunks of codes followed by those of row ids, each chunk
prefixed by its 4-byte length.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openkyc.biometrics.index import TemplateIndex
from openkyc.store.subject_keys import SubjectKeys

MAGIC = b"OKIX1\n"
CHUNK = 64 * 1024 * 1024
log = logging.getLogger("openkyc.index")


@dataclass
class Snapshot:
    """A collection's index as read back from its snapshot file."""

    collection_id: str
    app_id: int
    watermark: int
    last_event: int
    indexes: list[TemplateIndex]


def _aad(collection_id: str, part: int, chunk: int) -> bytes:
    return f"openkyc-index-snapshot\x1f{collection_id}\x1f{part}\x1f{chunk}".encode()


class SnapshotStore:
    """Snapshot files under one folder, their keys in the key store."""

    def __init__(self, folder: Path, keys: SubjectKeys, *, hours: float) -> None:
        self.folder = folder
        self.keys = keys
        self.hours = hours

    def __repr__(self) -> str:
        return f"SnapshotStore(folder={str(self.folder)!r})"

    def path(self, collection_id: str) -> Path:
        return self.folder / f"{collection_id}.snap"

    def _header(self, path: Path) -> dict[str, object] | None:
        try:
            with path.open("rb") as handle:
                return self._read_header(handle)
        except (OSError, ValueError):
            return None

    @staticmethod
    def _read_header(handle: BinaryIO) -> dict[str, object]:
        if handle.read(len(MAGIC)) != MAGIC:
            raise ValueError("not an index snapshot")
        (length,) = struct.unpack(">I", handle.read(4))
        header: dict[str, object] = json.loads(handle.read(length))
        return header

    def write(
        self,
        collection_id: str,
        app_id: int,
        indexes: list[TemplateIndex],
        *,
        watermark: int,
        last_event: int,
        now: datetime,
    ) -> Path:
        """Writes the snapshot (atomically replacing the previous one) and destroys the old key."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(collection_id)
        old = self._header(path)
        key = self.keys.for_record(app_id, now + timedelta(hours=self.hours))
        aead = AESGCM(key.key)
        header = {
            "collection_id": collection_id,
            "app_id": app_id,
            "key_id": key.key_id,
            "watermark": watermark,
            "last_event": last_event,
            "created_at": now.isoformat(),
            "indexes": [{"key_id": i.key_id, "bits": i.bits, "size": len(i)} for i in indexes],
        }
        encoded = json.dumps(header).encode()
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        with temporary.open("wb") as handle:
            os.chmod(temporary, 0o600)
            handle.write(MAGIC + struct.pack(">I", len(encoded)) + encoded)
            chunk_no = 0
            for part, index in enumerate(indexes):
                for array in (index.codes, index.row_ids):
                    data = np.ascontiguousarray(array).view(np.uint8).reshape(-1).data
                    for start in range(0, len(data), CHUNK):
                        nonce = os.urandom(12)
                        sealed = aead.encrypt(nonce, data[start : start + CHUNK], _aad(collection_id, part, chunk_no))
                        handle.write(struct.pack(">I", len(sealed) + 12) + nonce + sealed)
                        chunk_no += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        if old is not None and isinstance(old.get("key_id"), str):
            self.keys.destroy_key(str(old["key_id"]))  # the replaced file can no longer be read
        return path

    def read(self, collection_id: str) -> Snapshot | None:
        """The collection's snapshot, or None: no file, its key destroyed or expired, or damaged."""
        path = self.path(collection_id)
        try:
            with path.open("rb") as handle:
                header = self._read_header(handle)
                key = self.keys.key(str(header["key_id"]))
                if key is None:
                    return None  # shredded: the file is unreadable by design
                aead = AESGCM(key)
                chunk_no = 0
                indexes = []
                for part, spec in enumerate(header["indexes"]):  # type: ignore[arg-type, var-annotated]
                    bits, size = int(spec["bits"]), int(spec["size"])
                    arrays = []
                    for width in (bits // 8, 8):  # codes, then row ids
                        total = size * width
                        out = np.empty(total, dtype=np.uint8)
                        filled = 0
                        while filled < total:
                            (length,) = struct.unpack(">I", handle.read(4))
                            blob = handle.read(length)
                            plain = aead.decrypt(blob[:12], blob[12:], _aad(collection_id, part, chunk_no))
                            out[filled : filled + len(plain)] = np.frombuffer(plain, dtype=np.uint8)
                            filled += len(plain)
                            chunk_no += 1
                        arrays.append(out)
                    codes, rows = arrays[0].reshape(size, bits // 8), arrays[1].view(np.int64)
                    indexes.append(TemplateIndex.adopt(str(spec["key_id"]), bits, rows, codes))
                return Snapshot(
                    collection_id,
                    int(header["app_id"]),  # type: ignore[call-overload]
                    int(header["watermark"]),  # type: ignore[call-overload]
                    int(header["last_event"]),  # type: ignore[call-overload]
                    indexes,
                )
        except FileNotFoundError:
            return None
        except Exception:  # a damaged or foreign file: the database is the source of truth
            log.warning("index snapshot %s unreadable; reading the database", path.name, exc_info=True)
            return None

    def remove(self, collection_id: str) -> None:
        """Deletes the collection's snapshot and destroys its key (collection deleted)."""
        path = self.path(collection_id)
        header = self._header(path)
        path.unlink(missing_ok=True)
        if header is not None and isinstance(header.get("key_id"), str):
            self.keys.destroy_key(str(header["key_id"]))
