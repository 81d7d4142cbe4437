"""Face services: detection, 1:1 compare, collections with 1:N search. Each states its purpose.

The embedder is chosen per rule (compare) and per collection (fixed at creation: enrol and search
always use the collection's embedder, so one collection never mixes templates of two embedders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete as sa_delete
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openkyc.accounts import ids
from openkyc.biometrics import keystore
from openkyc.biometrics.calibration import template_bits, template_version
from openkyc.biometrics.embedding import check_available
from openkyc.biometrics.engine import FaceEngine, base_key_id
from openkyc.biometrics.repository import SubjectExists, SubjectRepository
from openkyc.biometrics.search import IndexManager
from openkyc.biometrics.templates import FaceTemplate, TemplateKey
from openkyc.config.rules import RuleConfig
from openkyc.config.service import admitted_rule
from openkyc.errors import FailedOperation, InvalidParameterValue, OpenKYCError, ResourceNotFound
from openkyc.pool import ModelPool
from openkyc.privacy import audit
from openkyc.privacy.access import DataAccess
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose
from openkyc.store.models.accounts import Resource
from openkyc.store.models.faces import Collection, Subject
from openkyc.store.subject_keys import subject_keys_for

MEDIA_HOURS = 2.0


class DuplicateSubject(FailedOperation):
    code = "FailedOperation.DuplicateFace"
    default_message = "Another subject in the collection already matches this face."


class FaceModels(Protocol):
    """What face services need from one model instance of the pool."""

    def face_engine(self, name: str = ...) -> FaceEngine: ...


@dataclass
class FaceService:
    """Face work for one app. Transactions are short and never span model inference: read (key,
    rule, collection) and commit, run the models on a pooled instance, then write and commit."""

    data: DataAccess
    models: ModelPool[FaceModels]
    index: IndexManager
    app_id: int
    client_ip: str | None = None  # the caller's address, checked against a named rule's ip_allow_list

    def _repo(self, session: Session) -> SubjectRepository:
        return SubjectRepository(session, self.data.gate, self.data.keyring)

    def _rule(self, session: Session, rule_id: str | None) -> RuleConfig:
        return admitted_rule(session, self.app_id, rule_id, self.client_ip)

    def _key(self, session: Session, embedder: str) -> TemplateKey:
        """The app's active key; ``engine.protector`` derives the embedder's sub-key from it."""
        return keystore.active_key(
            session,
            self.data.keyring,
            self.app_id,
            template_bits(embedder),
            self.data.clock(),
            version=template_version(embedder),
        )

    def detect(self, image: bytes) -> dict[str, Any]:
        self.data.gate.check(Purpose.PROVIDE_FEATURES, [DataElement.FACE_IMAGE, DataElement.KEYPOINTS])
        with self.models.lease() as models:
            return models.face_engine().detect(image).as_dict()

    def compare(self, image_a: bytes, image_b: bytes, rule_id: str | None) -> dict[str, Any]:
        self.data.gate.check(
            Purpose.PROVIDE_FEATURES, [DataElement.FACE_IMAGE, DataElement.KEYPOINTS, DataElement.TEMPLATE]
        )
        with self.data.transaction() as session:
            rule = self._rule(session, rule_id)
            key = self._key(session, rule.embedder)
        with self.models.lease() as models:
            result = models.face_engine(rule.embedder).compare(image_a, image_b, key)
        threshold = rule.compare_threshold
        return {"sim": round(result.sim, 2), "match": result.sim >= threshold, "threshold": threshold}

    # --- collections ---------------------------------------------------------------------------

    def _collection(self, session: Session, collection_id: str, *, share: bool = False) -> tuple[Collection, str]:
        query = (
            select(Collection, Resource.name)
            .join(Resource, Resource.id == Collection.id)
            .where(Collection.id == collection_id, Collection.app_id == self.app_id)
        )
        if share:  # PostgreSQL: a concurrent collection delete waits for this transaction (and v.v.)
            query = query.with_for_update(read=True, of=Collection)
        row = session.execute(query).first()
        if row is None:
            raise ResourceNotFound("The collection does not exist.", code="ResourceNotFound.Collection")
        return row[0], row[1]

    def create_collection(
        self, name: str, duplicate_check: bool, *, embedder: str | None = None, rule_id: str | None = None
    ) -> dict[str, Any]:
        """A new collection; its embedder is ``embedder``, else the rule's, else ``sface``."""
        with self.data.transaction() as session:
            rule = self._rule(session, rule_id)  # read (and its ip_allow_list checked) even with an embedder
            chosen = embedder or rule.embedder
            check_available(chosen)  # fails now (EmbedderUnavailable) rather than at first enrolment
            now = self.data.clock()
            collection_id = ids.resource_id("col")
            try:
                with session.begin_nested():
                    session.add(
                        Resource(id=collection_id, app_id=self.app_id, kind="collection", name=name, created_at=now)
                    )
                    session.flush()
            except IntegrityError as exc:
                raise InvalidParameterValue(
                    "A collection with that name already exists.", code="InvalidParameterValue.CollectionNameExists"
                ) from exc
            session.add(
                Collection(
                    id=collection_id,
                    app_id=self.app_id,
                    duplicate_check=duplicate_check,
                    embedder=chosen,
                    created_at=now,
                )
            )
        return {"collection_id": collection_id, "name": name, "duplicate_check": duplicate_check, "embedder": chosen}

    def describe_collection(self, collection_id: str) -> dict[str, Any]:
        with self.data.transaction() as session:
            collection, name = self._collection(session, collection_id)
            count = self._repo(session).count(self.app_id, collection_id, purpose=Purpose.PROVIDE_FEATURES)
        return {
            "collection_id": collection_id,
            "name": name,
            "duplicate_check": collection.duplicate_check,
            "embedder": collection.embedder,
            "subject_count": count,
            "created_at": collection.created_at.isoformat(),
        }

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
            blob_id = self._retain(session, image, subject_id, now) if retain_image else None
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

        One model lease for the batch, then one transaction for its writes; the duplicate check
        (when the collection has one) is one batch scan of the index for all the new templates,
        plus the batch's templates against each other. Each item's answer is ``{"subject_id",
        "status": "enrolled" | "failed", "code"}``: an image without a usable face, a subject
        already enrolled or a duplicate fails alone; the others are written.
        """
        self.data.gate.check(
            Purpose.PROVIDE_FEATURES,
            [DataElement.FACE_IMAGE, DataElement.KEYPOINTS, DataElement.TEMPLATE, DataCategory.IDENTIFICATION],
            app_id=self.app_id,
        )
        with self.data.transaction() as session:
            collection, _ = self._collection(session, collection_id)
            threshold = self._rule(session, rule_id).compare_threshold
            key = self._key(session, collection.embedder)
        answers: list[dict[str, Any]] = [{"subject_id": sid, "status": "failed", "code": None} for sid, _, _ in items]
        made: list[tuple[int, FaceTemplate]] = []
        with self.models.lease() as models:
            engine = models.face_engine(collection.embedder)
            for i, (_, image, _) in enumerate(items):
                try:
                    made.append((i, engine.enrol(image, key, require_single=True).template))
                except OpenKYCError as exc:
                    answers[i]["code"] = exc.error_code
        with self.data.transaction() as session:
            repo = self._repo(session)
            if collection.duplicate_check and made:
                lock_collection(session, collection_id)
                self.index.sync(session, repo, self.app_id)
                found = self._search(engine, collection_id, [{t.key_id: t} for _, t in made], 1)
                kept: list[tuple[int, FaceTemplate]] = []
                for (i, template), hits in zip(made, found, strict=True):
                    twin = any(engine.template_sim(template, t) >= threshold for _, t in kept)
                    if twin or any(sim >= threshold for _, sim in hits):
                        answers[i]["code"] = DuplicateSubject.code
                    else:
                        kept.append((i, template))
                made = kept
            now = self.data.clock()
            for i, template in made:
                subject_id, _, identification = items[i]
                try:
                    repo.add(
                        self.app_id,
                        collection_id,
                        subject_id,
                        template=template.to_bytes(),
                        template_version=template.version,
                        key_id=key.key_id,
                        identification=identification or None,
                        image_blob_id=None,
                        now=now,
                        purpose=Purpose.PROVIDE_FEATURES,
                    )
                except SubjectExists as exc:
                    answers[i]["code"] = exc.error_code
                    continue
                answers[i].update(status="enrolled")
        return answers

    def _refuse_duplicate(
        self,
        session: Session,
        repo: SubjectRepository,
        engine: FaceEngine,
        collection_id: str,
        template: FaceTemplate,
        threshold: float,
        *,
        except_row: int | None = None,
    ) -> None:
        """DuplicateSubject when another row of the collection matches ``template`` (the caller holds
        the collection's lock, so two copies of one face cannot both pass)."""
        self.index.sync(session, repo, self.app_id)
        hits = self._search(engine, collection_id, [{template.key_id: template}], top_k=6)[0]
        if any(sim >= threshold and row_id != except_row for row_id, sim in hits):
            raise DuplicateSubject()

    def _retain(self, session: Session, image: bytes, subject_id: str, now: datetime) -> str:
        """The enrolment photo kept (sealed) for template re-issue, for ``MEDIA_HOURS``; its blob id."""
        return self.data.blobs.put(
            session,
            app_id=self.app_id,
            kind="face_image",
            data=image,
            now=now,
            expires_at=now + timedelta(hours=MEDIA_HOURS),
            subject_id=subject_id,
            purpose=Purpose.PROVIDE_FEATURES,
        )

    def _search(
        self, engine: FaceEngine, collection_id: str, queries: list[dict[str, FaceTemplate]], top_k: int = 5
    ) -> list[list[tuple[int, float]]]:
        """``(row id, sim)`` of the ``top_k`` nearest rows for each query, best first (one scan).

        Scored with the knots of the query template with the highest sim-70 threshold (formats only
        differ while a rotation to a new size or version is pending): the conservative choice.
        """
        found = self.index.search_many(collection_id, queries, top_k)
        out: list[list[tuple[int, float]]] = []
        for query, matches in zip(queries, found, strict=True):
            formats = {(q.bits, q.version) for q in query.values()}
            bits, version = max(formats, key=lambda f: engine.calibration.score_for_sim(70.0, "template", *f))
            out.append([(m.id, round(engine.sim(m.score, bits, version), 2)) for m in matches])
        return out

    def search(self, collection_id: str, image: bytes, top_k: int, rule_id: str | None = None) -> dict[str, Any]:
        """The ``top_k`` nearest subjects, best first; each hit says whether it reaches the threshold
        (the rule's ``compare_threshold``, else the default rule's), and the answer names it."""
        answer = self.search_batch(collection_id, [image], top_k, rule_id)
        return {"collection_id": collection_id, "threshold": answer["threshold"], **answer["results"][0]}

    def search_batch(
        self, collection_id: str, images: list[bytes], top_k: int, rule_id: str | None = None
    ) -> dict[str, Any]:
        """:meth:`search` for several images at once: one model lease, one scan of the index for
        all of them; ``results`` in the order of ``images``."""
        self.data.gate.check(
            Purpose.PROVIDE_FEATURES, [DataElement.FACE_IMAGE, DataElement.KEYPOINTS, DataElement.TEMPLATE]
        )
        with self.data.transaction() as session:
            threshold = self._rule(session, rule_id).compare_threshold
            collection, _ = self._collection(session, collection_id)
            self.index.sync(session, self._repo(session), self.app_id)
            key_ids = self.index.key_ids(collection_id)
            if key_ids:
                keys = [
                    keystore.key_by_id(session, self.data.keyring, self.app_id, base_key_id(key_id))
                    for key_id in key_ids
                ]
            else:
                keys = [self._key(session, collection.embedder)]
        queries: list[dict[str, FaceTemplate]] = []
        with self.models.lease() as models:
            engine = models.face_engine(collection.embedder)
            for image in images:
                embedding, _quality = engine.embed(engine.decode(image))
                query = {}
                for key in keys:
                    template = engine.protector(key).protect(embedding)
                    query[template.key_id] = template
                queries.append(query)
                del embedding
        found = self._search(engine, collection_id, queries, top_k)
        wanted = sorted({row_id for hits in found for row_id, _ in hits})
        with self.data.transaction() as session:  # the few rows found, named (a removed row is left out)
            names = {
                row_id: subject_id
                for row_id, row_collection, subject_id, _ in self._repo(session).rows_by_id(
                    self.app_id, wanted, purpose=Purpose.PROVIDE_FEATURES
                )
                if row_collection == collection_id
            }
        results = [
            {
                "matches": [
                    {"subject_id": names[row_id], "sim": sim, "match": sim >= threshold}
                    for row_id, sim in hits
                    if row_id in names
                ]
            }
            for hits in found
        ]
        return {"collection_id": collection_id, "threshold": threshold, "results": results}

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

    # --- operators: collection delete and photo replacement (issue 15) ------------------------------

    def _still_there(self, session: Session, collection_id: str, *, exclusive: bool) -> None:
        """The collection still exists (deleted meanwhile: 404), and a concurrent delete waits for this
        transaction: the row's write lock when ``exclusive`` (serialises duplicate checks), else a
        share lock (PostgreSQL; SQLite serialises writers anyway). One lock each, never a share lock
        upgraded later, so two enrolments cannot deadlock on the row."""
        if exclusive:
            lock_collection(session, collection_id)
        self._collection(session, collection_id, share=not exclusive)

    def delete_collection(self, collection_id: str, *, actor: str = "api") -> dict[str, Any]:
        """Deletes a collection, its subjects (index events keep every process's 1:N index in sync)
        and their retained images, like subject deletion; the collection's name becomes free."""
        self.data.gate.check(
            Purpose.PROVIDE_FEATURES,
            [DataElement.TEMPLATE, DataCategory.IDENTIFICATION, DataElement.FACE_IMAGE],
            app_id=self.app_id,
        )
        with self.data.transaction() as session:
            self._collection(session, collection_id)
            lock_collection(session, collection_id)
            removed = self._repo(session).remove_collection(
                self.app_id, collection_id, now=self.data.clock(), purpose=Purpose.PROVIDE_FEATURES
            )
            for _ref, blob_id in removed:
                if blob_id:
                    self.data.blobs.delete(session, blob_id, purpose=Purpose.PROVIDE_FEATURES)
            resource = session.get(Resource, collection_id)
            if resource is not None:
                session.delete(resource)  # the collection row goes with it (ON DELETE CASCADE)
            session.execute(sa_delete(Collection).where(Collection.id == collection_id))
            audit.append(
                session,
                audit.AuditEvent.CONFIG_CHANGE,
                actor=actor,
                app_id=self.app_id,
                details={"action": "collection_delete", "collection_id": collection_id, "subjects": len(removed)},
            )
        self.index.drop(collection_id)
        return {"collection_id": collection_id, "deleted": True, "subjects_deleted": len(removed)}

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
            blob_id = self._retain(session, image, subject_id, now) if retain_image else None
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


def lock_collection(session: Session, collection_id: str) -> None:
    """Takes the collection row's write lock until commit (PostgreSQL: row lock; SQLite: the
    database write lock), by a no-op update that every backend serialises."""
    session.execute(update(Collection).where(Collection.id == collection_id).values(embedder=Collection.embedder))
