"""The encrypted blob store: files under ``data_dir/blobs``, a row per blob, expiry enforced.

Each blob is sealed with AES-256-GCM (associated data names the blob and its app, so a file moved
to another id or app does not decrypt) under its subject's own key, or, for a blob of no subject,
under a key of its own that the key store destroys when the blob expires
(:mod:`openkyc.store.subject_keys`); the row keeps the subject id only as a keyed hash. Files are written to a temporary name and renamed, so a
failed write never leaves a half-written blob; the row is added in the caller's transaction.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from openkyc.errors import ResourceNotFound
from openkyc.privacy.crypto import Keyring
from openkyc.store.models.media import Blob
from openkyc.store.subject_keys import subject_keys_for

BLOB_KINDS = frozenset({"face_image", "video", "document_image", "best_frame"})


class BlobStore:
    def __init__(self, root: Path, keyring: Keyring) -> None:
        self.root = root
        self.keyring = keyring

    def __repr__(self) -> str:
        return f"BlobStore(root={str(self.root)!r})"

    def _path(self, blob_id: str) -> Path:
        return self.root / blob_id[3:5] / blob_id

    @staticmethod
    def _aad(blob_id: str, app_id: int) -> bytes:
        return f"blob:{blob_id}:{app_id}".encode()

    def put(
        self,
        session: Session,
        *,
        app_id: int,
        kind: str,
        data: bytes,
        now: datetime,
        expires_at: datetime,
        subject_id: str | None = None,
    ) -> str:
        if kind not in BLOB_KINDS:
            raise ValueError(f"unknown blob kind {kind!r}")
        blob_id = "bl-" + secrets.token_hex(12)
        keys = subject_keys_for(session)
        if subject_id is not None:
            key = keys.for_subject(app_id, subject_id)
        else:
            key = keys.for_record(app_id, expires_at)
        path = self._path(blob_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.encrypt(data, self._aad(blob_id, app_id)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        session.add(
            Blob(
                id=blob_id,
                app_id=app_id,
                kind=kind,
                subject_id=keys.subject_ref(app_id, subject_id) if subject_id is not None else None,
                size=len(data),
                created_at=now,
                expires_at=expires_at,
            )
        )
        session.flush()
        return blob_id

    def get(self, session: Session, app_id: int, blob_id: str, *, now: datetime) -> bytes:
        row = session.get(Blob, blob_id)
        if row is None or row.app_id != app_id or row.expires_at <= now:
            raise ResourceNotFound("The stored file does not exist or has expired.", code="ResourceNotFound.Blob")
        try:
            token = self._path(blob_id).read_bytes()
        except FileNotFoundError as exc:
            raise ResourceNotFound("The stored file does not exist.", code="ResourceNotFound.Blob") from exc
        return self.keyring.decrypt(token, self._aad(blob_id, app_id))

    def delete(self, session: Session, blob_id: str) -> bool:
        """Removes the row and the file; returns whether anything was there."""
        row = session.get(Blob, blob_id)
        if row is not None:
            session.delete(row)
            session.flush()
        path = self._path(blob_id)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return row is not None or existed

    def expired(self, session: Session, now: datetime, limit: int = 1000) -> list[str]:
        return list(session.scalars(select(Blob.id).where(Blob.expires_at <= now).limit(limit)))

    def of_subject(self, session: Session, app_id: int, subject_id: str) -> list[Blob]:
        ref = subject_keys_for(session).subject_ref(app_id, subject_id)
        return list(session.scalars(select(Blob).where(Blob.app_id == app_id, Blob.subject_id == ref)))

    def orphan_files(self, session: Session) -> list[Path]:
        """Files without a row (a transaction that failed after the write); safe to remove."""
        if not self.root.exists():
            return []
        known = set(session.scalars(select(Blob.id)))
        return [p for p in self.root.glob("*/bl-*") if p.name not in known and p.suffix != ".tmp"]
