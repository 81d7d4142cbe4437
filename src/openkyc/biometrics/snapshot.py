"""Encrypted snapshots of a collection's 1:N index, so that a large index loads in seconds.

Reading millions of templates through the database (and, once templates are sealed per subject,
unsealing each) takes minutes; a snapshot file holds the collection's packed codes and row ids as
the index has them in memory, read back in bulk. It is never the source of truth: after reading
it, the loader reads the rows newer than its watermark and replays the ``index_events`` since its
last event, exactly as a running process does (see :mod:`openkyc.biometrics.search`).

Encryption: AES-256-GCM, in chunks of at most 8 MiB (nonce per chunk, the collection, index
and chunk number as associated data; files written with larger chunks read back too), under a *snapshot key* created for each write in the key
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

Reading (issue 13: 10M templates in seconds): the chunk table is walked first (one 4-byte read
per chunk), the arrays are allocated once at their final size, and the chunks are read with
``os.preadv`` into one reused buffer per thread and decrypted straight into their place in those
arrays (``decrypt_into``) on ``READ_THREADS`` threads (``cryptography`` releases the GIL). No
chunk is copied after decryption and no per-chunk buffer is allocated, so the memory held at the
peak is the arrays (136 bytes per 1024-bit template) plus one chunk per thread. On this VM a
fresh page of memory costs more to fault in than to decrypt, which is why the chunks are small
and the buffers reused.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openkyc.biometrics import mapped
from openkyc.biometrics.index import TemplateIndex
from openkyc.store.subject_keys import SubjectKeys

MAGIC = b"OKIX1\n"
CHUNK = 8 * 1024 * 1024
READ_THREADS = max(1, min(4, os.cpu_count() or 1))
TAG = 16  # AES-GCM tag bytes
NONCE = 12
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


@dataclass(frozen=True)
class _Chunk:
    offset: int  # of the nonce in the file
    length: int  # nonce + ciphertext + tag
    aad: bytes
    out: npt.NDArray[np.uint8]  # where its plaintext goes


def _chunk_table(
    handle: BinaryIO, collection_id: str, specs: list[tuple[int, int]]
) -> tuple[list[npt.NDArray[np.uint8]], list[_Chunk]]:
    """The output arrays (codes, then row ids, per index; allocated once) and every chunk's place
    in the file and in them, read from the chunks' length prefixes."""
    arrays: list[npt.NDArray[np.uint8]] = []
    chunks: list[_Chunk] = []
    position = handle.tell()
    for part, (bits, size) in enumerate(specs):
        for width in (bits // 8, 8):  # codes, then row ids
            out = mapped.allocate(size * width)  # a map of its own: grows in place later
            arrays.append(out)
            filled = 0
            while filled < len(out):
                handle.seek(position)
                prefix = handle.read(4)
                if len(prefix) != 4:
                    raise ValueError("index snapshot truncated")
                (length,) = struct.unpack(">I", prefix)
                plain = length - NONCE - TAG
                if plain <= 0 or filled + plain > len(out):
                    raise ValueError("index snapshot chunk does not fit")
                aad = _aad(collection_id, part, len(chunks))
                chunks.append(_Chunk(position + 4, length, aad, out[filled : filled + plain]))
                filled += plain
                position += 4 + length
    return arrays, chunks


def _decrypt_chunks(fd: int, aead: AESGCM, chunks: list[_Chunk]) -> None:
    """Reads and decrypts every chunk into its place, on up to ``READ_THREADS`` threads, each with
    one reused read buffer. Raises on a short read or a wrong tag (the snapshot is then ignored)."""
    local = threading.local()
    longest = max((c.length for c in chunks), default=0)

    def one(chunk: _Chunk) -> None:
        buffer = getattr(local, "buffer", None)
        if buffer is None:
            buffer = local.buffer = mapped.allocate(longest).data  # unmapped when the read ends
        view = buffer[: chunk.length]
        if os.preadv(fd, [view], chunk.offset) != chunk.length:
            raise ValueError("index snapshot truncated")
        aead.decrypt_into(bytes(view[:NONCE]), view[NONCE:], chunk.aad, chunk.out.data)

    threads = min(READ_THREADS, len(chunks))
    if threads <= 1:
        for chunk in chunks:
            one(chunk)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="openkyc-snapshot") as pool:
        for _ in pool.map(one, chunks):
            pass


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
            buffer = mapped.allocate(4 + NONCE + CHUNK + TAG)  # reused: no fresh pages per chunk
            view = buffer.data
            for part, index in enumerate(indexes):
                for array in (index.codes, index.row_ids):
                    data = np.ascontiguousarray(array).view(np.uint8).reshape(-1).data
                    for start in range(0, len(data), CHUNK):
                        plain = data[start : start + CHUNK]
                        end = 4 + NONCE + len(plain) + TAG
                        nonce = os.urandom(NONCE)
                        struct.pack_into(">I", view, 0, end - 4)
                        view[4 : 4 + NONCE] = nonce
                        aad = _aad(collection_id, part, chunk_no)
                        aead.encrypt_into(nonce, plain, aad, view[4 + NONCE : end])
                        handle.write(view[:end])
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
                specs = [(int(i["bits"]), int(i["size"])) for i in header["indexes"]]  # type: ignore[attr-defined]
                arrays, chunks = _chunk_table(handle, collection_id, specs)
                _decrypt_chunks(handle.fileno(), aead, chunks)
                indexes = []
                for part, spec in enumerate(header["indexes"]):  # type: ignore[arg-type, var-annotated]
                    bits, size = specs[part]
                    codes, rows = arrays[2 * part].reshape(size, bits // 8), arrays[2 * part + 1].view(np.int64)
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
