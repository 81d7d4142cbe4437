"""Repository of enrolled subjects: sealed protected templates, sealed identification fields.

Every method states its purpose; the purpose gate checks it against the policy before any row is
read or written (see openkyc.privacy.guards). The subject id is stored as a keyed hash
(``subject_id``) and, sealed under the subject's own key, as ``subject_id_enc`` (search answers
name subjects). The protected template (``template``) and the identification fields are sealed
under that key too, so erasure, which destroys it, leaves only undecryptable copies in dead
tuples, the WAL and backups (see openkyc.store.subject_keys).

Templates are read in bulk (the 1:N index) with :meth:`SubjectRepository.iter_templates`: chunks
keyset-paginated by row id, each opened with one key-store read for all of its subjects' keys. A
row whose key is gone (an erasure between destroying the key and deleting the rows) is left out:
it is already unreadable. A template that is not sealed (a database not upgraded to 0010) is an
error, never served.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openkyc.errors import InvalidParameterValue, ResourceNotFound
from openkyc.privacy.crypto import Keyring, SealingKey, sealed_key_id, unseal
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import personal_data_repository, requires_purpose
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose
from openkyc.store.models.faces import IndexEvent, Subject
from openkyc.store.subject_keys import subject_keys_for

IDENTIFICATION_FIELDS = ("name", "id_number", "date_of_birth", "address", "country")


class SubjectExists(InvalidParameterValue):
    code = "InvalidParameterValue.SubjectExists"
    default_message = "The subject is already enrolled in this collection."


def _aad(app_id: int, collection_id: str, subject_id: str) -> bytes:
    return f"subject:{app_id}:{collection_id}:{subject_id}".encode()


def _id_aad(app_id: int, subject_ref: str) -> bytes:
    return f"subject-id:{app_id}:{subject_ref}".encode()


def template_aad(app_id: int, collection_id: str, subject_ref: str) -> bytes:
    """Associated data of a sealed template (a template copied to another row does not open)."""
    return f"template:{app_id}:{collection_id}:{subject_ref}".encode()


def seal_template(key: SealingKey, app_id: int, collection_id: str, subject_ref: str, template: bytes) -> bytes:
    """``template`` (FaceTemplate bytes) sealed under the subject's key, as ``subjects.template`` holds it."""
    return key.encrypt(template, template_aad(app_id, collection_id, subject_ref))


def open_template(
    found: dict[str, bytes], app_id: int, collection_id: str, subject_ref: str, token: bytes
) -> bytes | None:
    """The template sealed in ``token``, with ``found`` (key id -> key); None when its key is gone.

    A value that is not sealed (a plain template) raises DecryptionError, as does a wrong row.
    """
    key = found.get(sealed_key_id(bytes(token)))
    if key is None:
        return None
    return unseal(key, bytes(token), template_aad(app_id, collection_id, subject_ref))


@personal_data_repository
class SubjectRepository:
    def __init__(self, session: Session, gate: PurposeGate, keyring: Keyring) -> None:
        self.session = session
        self.gate = gate
        self.keyring = keyring

    def __repr__(self) -> str:
        return "SubjectRepository()"

    @requires_purpose(DataElement.TEMPLATE, DataCategory.IDENTIFICATION, writes=True)
    def add(
        self,
        app_id: int,
        collection_id: str,
        subject_id: str,
        *,
        template: bytes,
        template_version: int,
        key_id: str,
        identification: dict[str, Any] | None,
        image_blob_id: str | None,
        now: datetime,
        purpose: Purpose,
    ) -> Subject:
        keys = subject_keys_for(self.session)
        ref = keys.subject_ref(app_id, subject_id)
        subject_key = keys.for_subject(app_id, subject_id)
        sealed = None
        if identification:
            plain = json.dumps(identification, sort_keys=True).encode()
            sealed = subject_key.encrypt(plain, _aad(app_id, collection_id, subject_id))
        row = Subject(
            collection_id=collection_id,
            app_id=app_id,
            subject_id=ref,
            subject_id_enc=subject_key.encrypt_text(subject_id, _id_aad(app_id, ref)),
            template=seal_template(subject_key, app_id, collection_id, ref, template),
            template_version=template_version,
            key_id=key_id,
            identification_enc=sealed,
            image_blob_id=image_blob_id,
            created_at=now,
        )
        try:
            with self.session.begin_nested():  # the unique (collection, subject) decides a race
                self.session.add(row)
                self.session.flush()
        except IntegrityError as exc:
            raise SubjectExists() from exc
        self.session.add(IndexEvent(collection_id=collection_id, subject_row=row.id, op="add", created_at=now))
        self.session.flush()
        return row

    def _ref(self, app_id: int, subject_id: str) -> str:
        return subject_keys_for(self.session).subject_ref(app_id, subject_id)

    def _keys(self, tokens: Iterable[bytes | None]) -> dict[str, bytes]:
        """The keys that sealed ``tokens``: one key-store read for all of them."""
        return subject_keys_for(self.session).keys(sealed_key_id(bytes(t)) for t in tokens if t is not None)

    @staticmethod
    def _subject_id(found: dict[str, bytes], app_id: int, ref: str, token: bytes | None) -> str | None:
        if token is None:
            return ref
        key = found.get(sealed_key_id(bytes(token)))
        return unseal(key, bytes(token), _id_aad(app_id, ref)).decode() if key is not None else None

    @requires_purpose(DataElement.TEMPLATE)
    def exists(self, app_id: int, collection_id: str, subject_id: str, *, purpose: Purpose) -> bool:
        found = self.session.scalar(
            select(Subject.id).where(
                Subject.app_id == app_id,
                Subject.collection_id == collection_id,
                Subject.subject_id == self._ref(app_id, subject_id),
            )
        )
        return found is not None

    @requires_purpose(DataElement.TEMPLATE)
    def iter_templates(
        self,
        app_id: int,
        collection_id: str,
        *,
        after_id: int = 0,
        chunk_size: int = 10_000,
        purpose: Purpose,
    ) -> Iterator[list[tuple[int, bytes]]]:
        """The collection's templates as lists of ``(row id, template bytes)``, by row id.

        Keyset-paginated (``id > after_id ... LIMIT chunk_size``: no giant ``IN``), each chunk
        opened with one key-store read (its subjects' keys unwrapped in one batch). Rows whose key
        was destroyed are left out; a chunk may then be shorter than ``chunk_size`` (iteration
        ends only when the database returns fewer rows than asked).
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        return self._iter_templates(app_id, collection_id, after_id, chunk_size)

    def _iter_templates(
        self, app_id: int, collection_id: str, after_id: int, chunk_size: int
    ) -> Iterator[list[tuple[int, bytes]]]:
        last = after_id
        while True:
            rows = self.session.execute(
                select(Subject.id, Subject.subject_id, Subject.template)
                .where(Subject.app_id == app_id, Subject.collection_id == collection_id, Subject.id > last)
                .order_by(Subject.id)
                .limit(chunk_size)
            ).all()
            if not rows:
                return
            found = self._keys(r[2] for r in rows)
            chunk = []
            for row_id, ref, token in rows:
                template = open_template(found, app_id, collection_id, ref, token)
                if template is not None:
                    chunk.append((row_id, template))
            last = rows[-1][0]
            yield chunk
            if len(rows) < chunk_size:
                return

    @requires_purpose(DataElement.TEMPLATE)
    def templates(self, app_id: int, collection_id: str, *, purpose: Purpose) -> list[tuple[int, str, bytes]]:
        """``(row id, subject id, template)`` of the collection, opened (small collections, tools)."""
        rows = self.session.execute(
            select(Subject.id, Subject.subject_id, Subject.subject_id_enc, Subject.template)
            .where(Subject.app_id == app_id, Subject.collection_id == collection_id)
            .order_by(Subject.id)
        ).all()
        found = self._keys([r[2] for r in rows] + [r[3] for r in rows])
        out = []
        for row_id, ref, sealed_id, token in rows:
            template = open_template(found, app_id, collection_id, ref, token)
            subject_id = self._subject_id(found, app_id, ref, sealed_id)
            if template is not None and subject_id is not None:
                out.append((row_id, subject_id, template))
        return out

    @requires_purpose(DataElement.TEMPLATE)
    def rows_by_id(self, app_id: int, row_ids: list[int], *, purpose: Purpose) -> list[tuple[int, str, str, bytes]]:
        """``(row id, collection, subject id, template)`` of the rows among ``row_ids`` (of any app:
        the index replays every app's events), opened with one key-store read; rows whose key is
        gone are left out."""
        if not row_ids:
            return []
        rows = self.session.execute(
            select(
                Subject.id, Subject.collection_id, Subject.app_id, Subject.subject_id, Subject.subject_id_enc,
                Subject.template,
            ).where(Subject.id.in_(row_ids)).order_by(Subject.id)
        ).all()  # fmt: skip
        found = self._keys([r[4] for r in rows] + [r[5] for r in rows])
        out = []
        for row_id, collection_id, row_app, ref, sealed_id, token in rows:
            template = open_template(found, row_app, collection_id, ref, token)
            subject_id = self._subject_id(found, row_app, ref, sealed_id)
            if template is not None and subject_id is not None:
                out.append((row_id, collection_id, subject_id, template))
        return out

    @requires_purpose(DataElement.TEMPLATE, DataCategory.IDENTIFICATION, writes=True)
    def remove(self, app_id: int, collection_id: str, subject_id: str, *, now: datetime, purpose: Purpose) -> Subject:
        row = self.session.scalar(
            select(Subject).where(
                Subject.app_id == app_id,
                Subject.collection_id == collection_id,
                Subject.subject_id == self._ref(app_id, subject_id),
            )
        )
        if row is None:
            raise ResourceNotFound("The subject is not in this collection.", code="ResourceNotFound.Subject")
        self.session.add(IndexEvent(collection_id=collection_id, subject_row=row.id, op="remove", created_at=now))
        self.session.delete(row)
        self.session.flush()
        return row

    @requires_purpose(DataElement.TEMPLATE, DataCategory.IDENTIFICATION)
    def of_subject(self, app_id: int, subject_id: str, *, purpose: Purpose) -> list[dict[str, Any]]:
        """Everything held about a subject across the app's collections, decrypted (access/export)."""
        ref = self._ref(app_id, subject_id)
        rows = self.session.scalars(select(Subject).where(Subject.app_id == app_id, Subject.subject_id == ref))
        out = []
        for row in rows:
            identification = None
            token = row.identification_enc
            if token is not None and self.keyring.key_for(sealed_key_id(token)) is not None:  # else shredded
                identification = json.loads(self.keyring.decrypt(token, _aad(app_id, row.collection_id, subject_id)))
            out.append(
                {
                    "collection_id": row.collection_id,
                    "enrolled_at": row.created_at.isoformat(),
                    "template": {"version": row.template_version, "key_id": row.key_id, "sealed": True},
                    "identification": identification,
                    "image_blob_id": row.image_blob_id,
                }
            )
        return out

    @requires_purpose(DataElement.TEMPLATE, DataCategory.IDENTIFICATION, writes=True)
    def erase_subject(self, app_id: int, subject_id: str, *, now: datetime, purpose: Purpose) -> int:
        rows = self.session.scalars(
            select(Subject).where(Subject.app_id == app_id, Subject.subject_id == self._ref(app_id, subject_id))
        ).all()
        for row in rows:
            self.session.add(
                IndexEvent(collection_id=row.collection_id, subject_row=row.id, op="remove", created_at=now)
            )
            self.session.delete(row)
        self.session.flush()
        return len(rows)

    @requires_purpose(DataElement.TEMPLATE, writes=True)
    def replace_template(
        self,
        app_id: int,
        row_id: int,
        *,
        template: bytes,
        template_version: int,
        key_id: str,
        now: datetime,
        purpose: Purpose,
    ) -> bool:
        """Re-issue a row's template (template-key rotation), sealed under the subject's key;
        False when the row is gone or its subject's key was destroyed (being erased)."""
        row = self.session.get(Subject, row_id)
        if row is None or row.app_id != app_id or row.subject_id_enc is None:
            return False
        subject_key_id = sealed_key_id(bytes(row.subject_id_enc))
        key = subject_keys_for(self.session).key(subject_key_id)
        if key is None:
            return False
        row.template = seal_template(
            SealingKey(subject_key_id, key), app_id, row.collection_id, row.subject_id, template
        )
        row.template_version = template_version
        row.key_id = key_id
        self.session.add(IndexEvent(collection_id=row.collection_id, subject_row=row.id, op="add", created_at=now))
        self.session.flush()
        return True

    @requires_purpose(DataElement.TEMPLATE)
    def count(self, app_id: int, collection_id: str, *, purpose: Purpose) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(Subject)
                .where(Subject.app_id == app_id, Subject.collection_id == collection_id)
            )
            or 0
        )

    @requires_purpose(DataElement.TEMPLATE, writes=True)
    def delete_collection(self, app_id: int, collection_id: str, *, purpose: Purpose) -> int:
        result = self.session.execute(
            delete(Subject).where(Subject.app_id == app_id, Subject.collection_id == collection_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # --- operators (management API and console): metadata only, never identification ---------------

    @requires_purpose(DataElement.TEMPLATE, DataElement.SUBJECT_ID)
    def metadata(self, app_id: int, rows: list[Subject], *, purpose: Purpose) -> list[dict[str, Any]]:
        """What an operator sees of enrolled subjects: the id, times, template version, and whether
        identification fields or an image are held, never their content."""
        found = self._keys(r.subject_id_enc for r in rows)
        ids = [self._subject_id(found, r.app_id, r.subject_id, r.subject_id_enc) for r in rows]
        return [
            {
                "subject_id": sid,
                "collection_id": r.collection_id,
                "enrolled_at": r.created_at.isoformat(),
                "template_version": r.template_version,
                "key_id": r.key_id,
                "has_identification": r.identification_enc is not None,
                "image_retained": r.image_blob_id is not None,
            }
            for r, sid in zip(rows, ids, strict=True)
            if r.app_id == app_id
        ]

    @requires_purpose(DataElement.TEMPLATE, writes=True)
    def remove_collection(
        self, app_id: int, collection_id: str, *, now: datetime, purpose: Purpose
    ) -> list[tuple[str, str | None]]:
        """Removes every subject of a collection with an index event each (every process's 1:N index
        drops them); returns ``(keyed subject ref, retained image blob id)`` per removed row."""
        rows = self.session.scalars(
            select(Subject).where(Subject.app_id == app_id, Subject.collection_id == collection_id)
        ).all()
        removed = []
        for row in rows:
            self.session.add(IndexEvent(collection_id=collection_id, subject_row=row.id, op="remove", created_at=now))
            removed.append((row.subject_id, row.image_blob_id))
            self.session.delete(row)
        self.session.flush()
        return removed

    @requires_purpose(DataElement.TEMPLATE, writes=True)
    def replace_photo(
        self,
        app_id: int,
        collection_id: str,
        subject_id: str,
        *,
        template: bytes,
        template_version: int,
        key_id: str,
        image_blob_id: str | None,
        now: datetime,
        purpose: Purpose,
    ) -> str | None:
        """A subject's new template (from a new photo); returns the old retained image's blob id."""
        row = self.session.scalar(
            select(Subject).where(
                Subject.app_id == app_id,
                Subject.collection_id == collection_id,
                Subject.subject_id == self._ref(app_id, subject_id),
            )
        )
        if row is None:
            raise ResourceNotFound("The subject is not in this collection.", code="ResourceNotFound.Subject")
        subject_key = subject_keys_for(self.session).for_subject(app_id, subject_id)
        old_blob = row.image_blob_id
        row.template = seal_template(subject_key, app_id, collection_id, row.subject_id, template)
        row.template_version = template_version
        row.key_id = key_id
        row.image_blob_id = image_blob_id
        self.session.add(IndexEvent(collection_id=collection_id, subject_row=row.id, op="add", created_at=now))
        self.session.flush()
        return old_blob
