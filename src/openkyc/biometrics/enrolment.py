"""The subjects of a collection: enrolment (one, or a batch for ``openkyc import``) with the
collection's duplicate check, photo replacement by operators, and deletion."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from openkyc.biometrics.bulk_rows import BulkSubjects
from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.repository import SubjectExists
from openkyc.biometrics.service_base import MEDIA_HOURS, DuplicateSubject, FaceServiceBase, lock_collection
from openkyc.biometrics.templates import FaceTemplate
from openkyc.errors import OpenKYCError, ResourceNotFound
from openkyc.privacy import audit
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose
from openkyc.store.models.faces import Subject
from openkyc.store.subject_keys import subject_keys_for


def batch_twins(engine: FaceEngine, templates: list[FaceTemplate], refused: list[bool], threshold: float) -> list[bool]:
    """For each template not ``refused`` already, whether one earlier in the batch that is to be
    written matches it (``sim >= threshold``): of several copies of a face only the first is
    written. Scored as :meth:`FaceEngine.template_sim` scores a pair, but each template against
    all the kept ones at once."""
    twins = [False] * len(templates)
    if not templates:
        return twins
    kept: list[int] = []
    if len({(t.key_id, t.bits, t.version) for t in templates}) > 1:  # never within a batch (one key)
        for i, template in enumerate(templates):
            twins[i] = not refused[i] and any(engine.template_sim(template, templates[k]) >= threshold for k in kept)
            if not (refused[i] or twins[i]):
                kept.append(i)
        return twins
    bits, version = templates[0].bits, templates[0].version
    codes = np.frombuffer(b"".join(t.data for t in templates), dtype=np.uint8).reshape(len(templates), -1)
    match = np.zeros((len(templates), len(templates)), dtype=bool)
    for start in range(0, len(templates), 64):  # every pair's sim, 64 rows at a time
        block = codes[start : start + 64, None, :] ^ codes[None, :, :]
        distance = np.bitwise_count(block).sum(axis=2, dtype=np.int64)
        match[start : start + 64] = (
            engine.calibration.sims(1.0 - distance / bits, "template", bits, version) >= threshold
        )
    for i in range(len(templates)):
        if refused[i]:
            continue
        twins[i] = bool(kept) and bool(match[i, kept].any())
        if not twins[i]:
            kept.append(i)
    return twins


class Enrolment(FaceServiceBase):
    """Enrolling, replacing and deleting a collection's subjects."""

    def enrol(
        self,
        collection_id: str,
        subject_id: str,
        image: bytes,
        identification: dict[str, Any] | None,
        *,
        retain_image: bool,
        rule_id: str | None,
    ) -> dict[str, Any]:
        self.data.gate.check(
            Purpose.PROVIDE_FEATURES,
            [DataElement.FACE_IMAGE, DataElement.KEYPOINTS, DataElement.TEMPLATE, DataCategory.IDENTIFICATION],
            app_id=self.app_id,
        )
        with self.data.transaction() as session:
            collection, _ = self._collection(session, collection_id)
            threshold = self._rule(session, rule_id).compare_threshold
            key = self._key(session, collection.embedder)
            if self._repo(session).exists(self.app_id, collection_id, subject_id, purpose=Purpose.PROVIDE_FEATURES):
                raise SubjectExists()  # early answer; the unique constraint decides under concurrency
        with self.models.lease() as models:
            engine = models.face_engine(collection.embedder)
            enrolment = engine.enrol(image, key, require_single=True)
        with self.data.transaction() as session:
            repo = self._repo(session)
            self._still_there(session, collection_id, exclusive=collection.duplicate_check)
            if collection.duplicate_check:
                # Enrolments into one collection with a duplicate check are serialised on the
                # collection row (the lock, taken just above, is held until commit), so two
                # copies of one face enrolled at once cannot both pass the check.
                self._refuse_duplicate(session, repo, engine, collection_id, enrolment.template, threshold)
            now = self.data.clock()
            blob_id = self._retain(session, image, subject_id, now, rule_id) if retain_image else None
            repo.add(
                self.app_id,
                collection_id,
                subject_id,
                template=enrolment.template.to_bytes(),
                template_version=enrolment.template.version,
                key_id=key.key_id,  # the app key (rotation and retirement work on it), not the sub-key
                identification=identification or None,
                image_blob_id=blob_id,
                now=now,
                purpose=Purpose.PROVIDE_FEATURES,
            )
        return {
            "collection_id": collection_id,
            "subject_id": subject_id,
            "quality": enrolment.quality.as_dict(),
            "image_retained_until": (now + timedelta(hours=MEDIA_HOURS)).isoformat() if retain_image else None,
        }

    def enrol_many(
        self, collection_id: str, items: list[tuple[str, bytes, dict[str, Any] | None]], rule_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Bulk enrolment (``openkyc import``): ``(subject id, image, identification)`` items.

        Subjects already in the collection (or named twice in the batch) are answered
        ``SubjectExists`` first, without the model; then one model lease for the rest, then one
        transaction for their writes: the duplicate check (when the collection has one) is one
        batch scan of the index for all the new templates, plus the batch's templates against
        each other; the subject keys one key-store round; the rows one multi-row INSERT
        (:class:`~openkyc.biometrics.bulk_rows.BulkSubjects`). Each item's answer is
        ``{"subject_id", "status": "enrolled" | "failed", "code"}``: an image without a usable
        face, a subject already enrolled or a duplicate fails alone; the others are written.
        """
        self.data.gate.check(
            Purpose.PROVIDE_FEATURES,
            [DataElement.FACE_IMAGE, DataElement.KEYPOINTS, DataElement.TEMPLATE, DataCategory.IDENTIFICATION],
            app_id=self.app_id,
        )
        answers: list[dict[str, Any]] = [{"subject_id": sid, "status": "failed", "code": None} for sid, _, _ in items]
        with self.data.transaction() as session:
            collection, _ = self._collection(session, collection_id)
            threshold = self._rule(session, rule_id).compare_threshold
            key = self._key(session, collection.embedder)
            there = BulkSubjects(session, self.data.gate, self.data.keyring).enrolled(
                self.app_id, collection_id, [sid for sid, _, _ in items], purpose=Purpose.PROVIDE_FEATURES
            )  # early answers; the unique constraint decides under concurrency
        todo: list[int] = []
        for i, (subject_id, _, _) in enumerate(items):
            if subject_id in there:
                answers[i]["code"] = SubjectExists.code
            else:
                there.add(subject_id)
                todo.append(i)
        made: list[tuple[int, FaceTemplate]] = []
        with self.models.lease() as models:
            engine = models.face_engine(collection.embedder)
            for i in todo:
                try:
                    made.append((i, engine.enrol(items[i][1], key, require_single=True).template))
                except OpenKYCError as exc:
                    answers[i]["code"] = exc.error_code
        if not made:
            return answers
        with self.data.transaction() as session:
            repo = self._repo(session)
            if collection.duplicate_check:
                lock_collection(session, collection_id)
                self.index.sync(session, repo, self.app_id)
                found = self._search(engine, collection_id, [{t.key_id: t} for _, t in made], 1)
                known = [any(sim >= threshold for _, sim in hits) for hits in found]
                twins = batch_twins(engine, [t for _, t in made], known, threshold)
                for (i, _), old, twin in zip(made, known, twins, strict=True):
                    if old or twin:
                        answers[i]["code"] = DuplicateSubject.code
                made = [m for m, old, twin in zip(made, known, twins, strict=True) if not (old or twin)]
            else:
                self._still_there(session, collection_id, exclusive=False)
            now = self.data.clock()
            # every new subject's key in one key-store round, every row in one INSERT
            subject_keys = subject_keys_for(session).for_subjects(self.app_id, [items[i][0] for i, _ in made])
            written = BulkSubjects(session, self.data.gate, self.data.keyring).add_many(
                self.app_id,
                collection_id,
                [(items[i][0], t.to_bytes(), t.version, items[i][2] or None) for i, t in made],
                key_id=key.key_id,  # the app key (rotation and retirement work on it), not the sub-key
                subject_keys=subject_keys,
                now=now,
                purpose=Purpose.PROVIDE_FEATURES,
            )
            for (i, _), ok in zip(made, written, strict=True):
                if ok:
                    answers[i]["status"] = "enrolled"
                else:
                    answers[i]["code"] = SubjectExists.code
        return answers

    def delete_subject(self, collection_id: str, subject_id: str) -> dict[str, Any]:
        # the template row, its identification and its retained image: decided before anything is deleted
        self.data.gate.check(
            Purpose.PROVIDE_FEATURES,
            [DataElement.TEMPLATE, DataCategory.IDENTIFICATION, DataElement.FACE_IMAGE],
            app_id=self.app_id,
        )
        with self.data.transaction() as session:
            self._collection(session, collection_id)
            row = self._repo(session).remove(
                self.app_id, collection_id, subject_id, now=self.data.clock(), purpose=Purpose.PROVIDE_FEATURES
            )
            if row.image_blob_id:
                self.data.blobs.delete(session, row.image_blob_id, purpose=Purpose.PROVIDE_FEATURES)
        return {"collection_id": collection_id, "subject_id": subject_id, "deleted": True}

    def replace_photo(
        self,
        collection_id: str,
        subject_id: str,
        image: bytes,
        *,
        retain_image: bool,
        rule_id: str | None,
        actor: str = "api",
    ) -> dict[str, Any]:
        """A new photo for an enrolled subject: a new template under the collection's current key,
        the duplicate check (when the collection has one) against every other subject, the old
        retained image deleted. Identification fields stay as enrolled. Audited in the same
        transaction (``config_change``, ``subject_photo_replace``) with the subject's keyed
        reference, never its id."""
        self.data.gate.check(
            Purpose.PROVIDE_FEATURES,
            [DataElement.FACE_IMAGE, DataElement.KEYPOINTS, DataElement.TEMPLATE],
            app_id=self.app_id,
        )
        with self.data.transaction() as session:
            collection, _ = self._collection(session, collection_id)
            threshold = self._rule(session, rule_id).compare_threshold
            key = self._key(session, collection.embedder)
            if not self._repo(session).exists(self.app_id, collection_id, subject_id, purpose=Purpose.PROVIDE_FEATURES):
                raise ResourceNotFound("The subject is not in this collection.", code="ResourceNotFound.Subject")
        with self.models.lease() as models:
            engine = models.face_engine(collection.embedder)
            enrolment = engine.enrol(image, key, require_single=True)
        with self.data.transaction() as session:
            repo = self._repo(session)
            self._still_there(session, collection_id, exclusive=collection.duplicate_check)
            if collection.duplicate_check:
                own = session.scalar(  # the subject's own row: its old photo is not a duplicate
                    select(Subject.id).where(
                        Subject.app_id == self.app_id,
                        Subject.collection_id == collection_id,
                        Subject.subject_id == repo._ref(self.app_id, subject_id),
                    )
                )
                self._refuse_duplicate(
                    session, repo, engine, collection_id, enrolment.template, threshold, except_row=own
                )
            now = self.data.clock()
            blob_id = self._retain(session, image, subject_id, now, rule_id) if retain_image else None
            old_blob = repo.replace_photo(
                self.app_id,
                collection_id,
                subject_id,
                template=enrolment.template.to_bytes(),
                template_version=enrolment.template.version,
                key_id=key.key_id,
                image_blob_id=blob_id,
                now=now,
                purpose=Purpose.PROVIDE_FEATURES,
            )
            if old_blob:
                self.data.blobs.delete(session, old_blob, purpose=Purpose.PROVIDE_FEATURES)
            audit.append(
                session,
                audit.AuditEvent.CONFIG_CHANGE,
                actor=actor,
                app_id=self.app_id,
                details={
                    "action": "subject_photo_replace",
                    "collection_id": collection_id,
                    "subject_ref": subject_keys_for(session).subject_ref(self.app_id, subject_id)[:16],
                    "image_retained": retain_image,
                },
            )
        return {
            "collection_id": collection_id,
            "subject_id": subject_id,
            "replaced": True,
            "quality": enrolment.quality.as_dict(),
            "image_retained_until": (now + timedelta(hours=MEDIA_HOURS)).isoformat() if retain_image else None,
        }
