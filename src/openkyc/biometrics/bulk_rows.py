"""Bulk writes of enrolled subjects (``openkyc import``): the rows of a whole batch at once.

The rows are the ones :meth:`SubjectRepository.add <openkyc.biometrics.repository.SubjectRepository.add>`
writes (subject id as a keyed hash and sealed, template and identification sealed under the
subject's own key, one ``index_events`` row each), but written with one multi-row INSERT per batch
instead of an ORM flush and a SAVEPOINT per row.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openkyc.biometrics.repository import SubjectExists, SubjectRepository, _aad, _id_aad, seal_template
from openkyc.privacy.crypto import Keyring, SealingKey
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import personal_data_repository, requires_purpose
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose
from openkyc.store.models.faces import IndexEvent, Subject
from openkyc.store.subject_keys import subject_keys_for

# A new subject of a bulk write: (subject id, template bytes, template version, identification)
NewSubject = tuple[str, bytes, int, dict[str, Any] | None]


@personal_data_repository
class BulkSubjects:
    def __init__(self, session: Session, gate: PurposeGate, keyring: Keyring) -> None:
        self.session = session
        self.gate = gate
        self.keyring = keyring

    def __repr__(self) -> str:
        return "BulkSubjects()"

    @requires_purpose(DataElement.TEMPLATE, DataCategory.IDENTIFICATION, writes=True)
    def add_many(
        self,
        app_id: int,
        collection_id: str,
        subjects: list[NewSubject],
        *,
        key_id: str,
        subject_keys: dict[str, SealingKey],
        now: datetime,
        purpose: Purpose,
    ) -> list[bool]:
        """New subject rows in bulk (``openkyc import``); for each item whether it was written
        (False: the subject is already in the collection, or named twice in ``subjects``).

        Each row sealed as :meth:`SubjectRepository.add` seals it, under the subject's own key from ``subject_keys``
        (:meth:`SubjectKeys.for_subjects`). The subjects already there are found with one SELECT,
        the others written with one multi-row INSERT (row ids returned in order) and their index
        events with one more. Should the INSERT meet a row a concurrent transaction committed
        meanwhile (the unique constraint), the batch is written one row at a time (:meth:`SubjectRepository.add`),
        each such subject then answered False.
        """
        keys = subject_keys_for(self.session)
        refs = [keys.subject_ref(app_id, subject_id) for subject_id, _, _, _ in subjects]
        present = set(
            self.session.scalars(
                select(Subject.subject_id).where(Subject.collection_id == collection_id, Subject.subject_id.in_(refs))
            )
        )
        written = [False] * len(subjects)
        rows: list[dict[str, Any]] = []
        for i, ((subject_id, template, version, identification), ref) in enumerate(zip(subjects, refs, strict=True)):
            if ref in present:
                continue
            present.add(ref)  # a second item of the batch with this id is not written
            key = subject_keys[subject_id]
            sealed = None
            if identification:
                plain = json.dumps(identification, sort_keys=True).encode()
                sealed = key.encrypt(plain, _aad(app_id, collection_id, subject_id))
            rows.append(
                {
                    "collection_id": collection_id,
                    "app_id": app_id,
                    "subject_id": ref,
                    "subject_id_enc": key.encrypt_text(subject_id, _id_aad(app_id, ref)),
                    "template": seal_template(key, app_id, collection_id, ref, template),
                    "template_version": version,
                    "key_id": key_id,
                    "identification_enc": sealed,
                    "image_blob_id": None,
                    "created_at": now,
                    "_item": i,
                }
            )
        if not rows:
            return written
        items = [row.pop("_item") for row in rows]
        table = cast(Table, Subject.__table__)
        try:
            with self.session.begin_nested():
                ids = self.session.execute(
                    insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
                ).scalars().all()  # fmt: skip
        except IntegrityError:  # a concurrent transaction enrolled one of them: one row at a time
            return self._one_by_one(app_id, collection_id, subjects, items, written, key_id, subject_keys, now, purpose)
        self.session.execute(
            insert(cast(Table, IndexEvent.__table__)),
            [{"collection_id": collection_id, "subject_row": row_id, "op": "add", "created_at": now} for row_id in ids],
        )
        for i in items:
            written[i] = True
        return written

    def _one_by_one(
        self,
        app_id: int,
        collection_id: str,
        subjects: list[NewSubject],
        items: list[int],
        written: list[bool],
        key_id: str,
        subject_keys: dict[str, SealingKey],
        now: datetime,
        purpose: Purpose,
    ) -> list[bool]:
        single = SubjectRepository(self.session, self.gate, self.keyring)
        for i in items:
            subject_id, template, version, identification = subjects[i]
            try:
                single.add(
                    app_id, collection_id, subject_id, template=template, template_version=version, key_id=key_id,
                    identification=identification, image_blob_id=None, now=now, purpose=purpose,
                    subject_key=subject_keys[subject_id],
                )  # fmt: skip
            except SubjectExists:
                continue
            written[i] = True
        return written

    @requires_purpose(DataElement.TEMPLATE)
    def enrolled(self, app_id: int, collection_id: str, subject_ids: list[str], *, purpose: Purpose) -> set[str]:
        """Which of ``subject_ids`` the collection (one app's) holds already (one SELECT)."""
        refs = {
            subject_keys_for(self.session).subject_ref(app_id, subject_id): subject_id for subject_id in subject_ids
        }
        # by the unique (collection, subject) index alone: with app_id in the WHERE, SQLite scanned
        # the app's index, every row of the app (75 ms a batch of 32 at 100,000 subjects)
        found = self.session.scalars(
            select(Subject.subject_id).where(Subject.collection_id == collection_id, Subject.subject_id.in_(list(refs)))
        )
        return {refs[ref] for ref in found}
