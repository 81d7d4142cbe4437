"""Repository of enrolled subjects: protected templates, sealed identification fields.

Every method states its purpose; the purpose gate checks it against the policy before any row is
read or written (see openkyc.privacy.guards). The subject id is stored as a keyed hash
(``subject_id``) and, sealed under the subject's own key, as ``subject_id_enc`` (search answers
name subjects); identification fields are sealed under that key too, so erasure, which destroys
it, leaves only undecryptable copies (see openkyc.store.subject_keys).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openkyc.errors import InvalidParameterValue, ResourceNotFound
from openkyc.privacy.crypto import Keyring, sealed_key_id, unseal
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
            template=template,
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

    def _subject_ids(self, rows: list[tuple[int, str, bytes | None]]) -> list[str]:
        """The subject ids of ``(app_id, keyed hash, sealed id)`` rows, opened with one key-store read."""
        sealed = [token for _, _, token in rows if token is not None]
        found = subject_keys_for(self.session).keys(sealed_key_id(t) for t in sealed)
        out = []
        for app_id, ref, token in rows:
            key = found.get(sealed_key_id(token)) if token is not None else None
            out.append(unseal(key, token, _id_aad(app_id, ref)).decode() if key and token else ref)
        return out

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
    def templates(self, app_id: int, collection_id: str, *, purpose: Purpose) -> list[tuple[int, str, bytes]]:
        rows = self.session.execute(
            select(Subject.id, Subject.app_id, Subject.subject_id, Subject.subject_id_enc, Subject.template).where(
                Subject.app_id == app_id, Subject.collection_id == collection_id
            )
        ).all()
        ids = self._subject_ids([(r[1], r[2], r[3]) for r in rows])
        return [(r[0], sid, r[4]) for r, sid in zip(rows, ids, strict=True)]

    @requires_purpose(DataElement.TEMPLATE)
    def rows_by_id(self, app_id: int, row_ids: list[int], *, purpose: Purpose) -> list[tuple[int, str, str, bytes]]:
        """``(row id, collection, subject id, template)``: the subject id opened from its sealed copy."""
        if not row_ids:
            return []
        rows = self.session.execute(
            select(
                Subject.id, Subject.collection_id, Subject.app_id, Subject.subject_id, Subject.subject_id_enc,
                Subject.template,
            ).where(Subject.id.in_(row_ids))
        ).all()  # fmt: skip
        ids = self._subject_ids([(r[2], r[3], r[4]) for r in rows])
        return [(r[0], r[1], sid, r[5]) for r, sid in zip(rows, ids, strict=True)]

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
                    "template": {"version": row.template_version, "key_id": row.key_id, "bytes": len(row.template)},
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
        self, app_id: int, row_id: int, *, template: bytes, key_id: str, now: datetime, purpose: Purpose
    ) -> None:
        row = self.session.get(Subject, row_id)
        if row is None or row.app_id != app_id:
            return
        row.template = template
        row.key_id = key_id
        self.session.add(IndexEvent(collection_id=row.collection_id, subject_row=row.id, op="add", created_at=now))
        self.session.flush()

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

    @requires_purpose(DataElement.TEMPLATE)
    def iter_templates(
        self, app_id: int, collection_id: str, *, after_id: int = 0, chunk_size: int = 10_000, purpose: Purpose
    ) -> Iterator[list[tuple[int, bytes]]]:
        """``(row id, template)`` of the collection's rows above ``after_id``, by row id, a chunk at a
        time (keyset pagination: no giant ``IN (...)``, no offset scans)."""
        last = after_id
        while True:
            rows = self.session.execute(
                select(Subject.id, Subject.template)
                .where(Subject.app_id == app_id, Subject.collection_id == collection_id, Subject.id > last)
                .order_by(Subject.id)
                .limit(chunk_size)
            ).all()
            if not rows:
                return
            yield [(int(r[0]), bytes(r[1])) for r in rows]
            last = int(rows[-1][0])
            if len(rows) < chunk_size:
                return
