"""The encrypted blob store: files under ``data_dir/blobs``, a row per blob, expiry enforced.

Each blob is sealed with AES-256-GCM (associated data names the blob and its app, so a file moved
to another id or app does not decrypt) under its subject's own key, or, for a blob of no subject,
under a key of its own that the key store destroys when the blob expires
(:mod:`openkyc.store.subject_keys`); the row keeps the subject id only as a keyed hash. Files are written to a temporary name and renamed, so a
failed write never leaves a half-written blob; the row is added in the caller's transaction, and
the file is removed at once when that transaction rolls back (the orphan sweep is only a backstop).

Every method states its ``purpose`` (a :class:`~openkyc.privacy.vocabulary.Purpose`, or an
:class:`~openkyc.privacy.vocabulary.Obligation` for the sweeps and subject rights) and the purpose
gate decides on the blob's element (face image, video or document image, by blob kind) before any
file or row is read or written; each call is a touch in the request's ledger.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from openkyc.errors import ResourceNotFound
from openkyc.privacy import ledger
from openkyc.privacy.crypto import Keyring
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import checks_purpose, personal_data_repository
from openkyc.privacy.vocabulary import DataElement, Obligation, Purpose
from openkyc.store.models.media import Blob
from openkyc.store.subject_keys import subject_keys_for

E = DataElement
BLOB_ELEMENTS: dict[str, DataElement] = {
    "face_image": E.FACE_IMAGE,
    "best_frame": E.FACE_IMAGE,
    "video": E.FACE_VIDEO,
    "document_image": E.DOCUMENT_IMAGE,
}
BLOB_KINDS = frozenset(BLOB_ELEMENTS)
ALL_BLOB_ELEMENTS = (E.FACE_IMAGE, E.FACE_VIDEO, E.DOCUMENT_IMAGE)

_NEW_FILES = "openkyc.blobs.new_files"


def _remove_new_files(session: Session) -> None:
    for path in session.info.pop(_NEW_FILES, []):
        path.unlink(missing_ok=True)


def _keep_new_files(session: Session) -> None:
    session.info.pop(_NEW_FILES, None)


def _track_new_file(session: Session, path: Path) -> None:
    """``path`` is removed if ``session``'s transaction rolls back, kept once it commits."""
    if _NEW_FILES not in session.info:
        session.info[_NEW_FILES] = []
        if not event.contains(session, "after_rollback", _remove_new_files):
            event.listen(session, "after_rollback", _remove_new_files)
            event.listen(session, "after_commit", _keep_new_files)
    session.info[_NEW_FILES].append(path)


@personal_data_repository
class BlobStore:
    def __init__(self, root: Path, keyring: Keyring, gate: PurposeGate) -> None:
        self.root = root
        self.keyring = keyring
        self.gate = gate

    def __repr__(self) -> str:
        return f"BlobStore(root={str(self.root)!r})"

    def _path(self, blob_id: str) -> Path:
        return self.root / blob_id[3:5] / blob_id

    @staticmethod
    def _aad(blob_id: str, app_id: int) -> bytes:
        return f"blob:{blob_id}:{app_id}".encode()

    def _check(
        self,
        what: str,
        purpose: Purpose | Obligation,
        elements: tuple[DataElement, ...],
        *,
        app_id: int | None = None,
        subject_id: str | None = None,
    ) -> None:
        self.gate.check(purpose, elements, subject=subject_id, app_id=app_id)
        ledger.touched(f"BlobStore.{what}", elements, ledger.WRITE if what in {"put", "delete"} else ledger.READ)

    @checks_purpose(*ALL_BLOB_ELEMENTS)
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
        rule_id: str | None = None,
        purpose: Purpose | Obligation,
    ) -> str:
        if kind not in BLOB_KINDS:
            raise ValueError(f"unknown blob kind {kind!r}")
        self._check("put", purpose, (BLOB_ELEMENTS[kind],), app_id=app_id, subject_id=subject_id)
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
        _track_new_file(session, path)
        session.add(
            Blob(
                id=blob_id,
                app_id=app_id,
                kind=kind,
                subject_id=keys.subject_ref(app_id, subject_id) if subject_id is not None else None,
                size=len(data),
                created_at=now,
                expires_at=expires_at,
                rule_id=rule_id,  # the sweep applies this rule's media_hours (None: no rule)
                rule_recorded=True,
            )
        )
        session.flush()
        return blob_id

    @checks_purpose(*ALL_BLOB_ELEMENTS)
    def get(
        self, session: Session, app_id: int, blob_id: str, *, now: datetime, purpose: Purpose | Obligation
    ) -> bytes:
        row = session.get(Blob, blob_id)
        if row is None or row.app_id != app_id or row.expires_at <= now:
            raise ResourceNotFound("The stored file does not exist or has expired.", code="ResourceNotFound.Blob")
        self._check("get", purpose, (BLOB_ELEMENTS.get(row.kind, E.FACE_IMAGE),), app_id=app_id)
        try:
            token = self._path(blob_id).read_bytes()
        except FileNotFoundError as exc:
            raise ResourceNotFound("The stored file does not exist.", code="ResourceNotFound.Blob") from exc
        return self.keyring.decrypt(token, self._aad(blob_id, app_id))

    @checks_purpose(*ALL_BLOB_ELEMENTS)
    def delete(self, session: Session, blob_id: str, *, purpose: Purpose | Obligation) -> bool:
        """Removes the row and the file; returns whether anything was there."""
        row = session.get(Blob, blob_id)
        if row is None:
            self._check("delete", purpose, ALL_BLOB_ELEMENTS)
        else:
            self._check("delete", purpose, (BLOB_ELEMENTS.get(row.kind, E.FACE_IMAGE),), app_id=row.app_id)
        if row is not None:
            session.delete(row)
            session.flush()
        path = self._path(blob_id)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return row is not None or existed

    @checks_purpose(*ALL_BLOB_ELEMENTS)
    def expired(
        self, session: Session, now: datetime, limit: int = 1000, *, purpose: Purpose | Obligation
    ) -> list[str]:
        self._check("expired", purpose, ALL_BLOB_ELEMENTS)
        return list(session.scalars(select(Blob.id).where(Blob.expires_at <= now).limit(limit)))

    @checks_purpose(*ALL_BLOB_ELEMENTS)
    def of_subject(
        self, session: Session, app_id: int, subject_id: str, *, purpose: Purpose | Obligation
    ) -> list[Blob]:
        self._check("of_subject", purpose, ALL_BLOB_ELEMENTS, app_id=app_id, subject_id=subject_id)
        ref = subject_keys_for(session).subject_ref(app_id, subject_id)
        return list(session.scalars(select(Blob).where(Blob.app_id == app_id, Blob.subject_id == ref)))

    @checks_purpose(*ALL_BLOB_ELEMENTS)
    def orphan_files(self, session: Session, *, purpose: Purpose | Obligation) -> list[Path]:
        """Files without a row (a write whose clean-up did not run: a crash); safe to remove."""
        self._check("orphan_files", purpose, ALL_BLOB_ELEMENTS)
        if not self.root.exists():
            return []
        known = set(session.scalars(select(Blob.id)))
        return [p for p in self.root.glob("*/bl-*") if p.name not in known and p.suffix != ".tmp"]
