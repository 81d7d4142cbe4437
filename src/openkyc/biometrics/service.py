"""Face services: detection, 1:1 compare, collections with 1:N search. Each states its purpose.

The embedder is chosen per rule (compare) and per collection (fixed at creation: enrol and search
always use the collection's embedder, so one collection never mixes templates of two embedders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openkyc.accounts import ids
from openkyc.biometrics import keystore
from openkyc.biometrics.engine import FaceEngine, base_key_id
from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.templates import FaceTemplate
from openkyc.config.service import rule_config
from openkyc.errors import FailedOperation, InvalidParameterValue, ResourceNotFound
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.runtime import Runtime
from openkyc.store.models.accounts import Resource
from openkyc.store.models.faces import Collection

MEDIA_HOURS = 2.0


class DuplicateSubject(FailedOperation):
    code = "FailedOperation.DuplicateFace"
    default_message = "Another subject in the collection already matches this face."


@dataclass
class FaceService:
    runtime: Runtime
    session: Session
    app_id: int

    @property
    def repo(self) -> SubjectRepository:
        return SubjectRepository(self.session, self.runtime.gate, self.runtime.keyring)

    def _key(self, engine: FaceEngine) -> Any:
        """The app's active key; ``engine.protector`` derives the embedder's sub-key from it."""
        return keystore.active_key(self.session, self.runtime.keyring, self.app_id, engine.bits, self.runtime.clock())

    def detect(self, image: bytes) -> dict[str, Any]:
        self.runtime.gate.check(Purpose.PROVIDE_FEATURES, [DataElement.FACE_IMAGE, DataElement.KEYPOINTS])
        return self.runtime.faces.detect(image).as_dict()

    def compare(self, image_a: bytes, image_b: bytes, rule_id: str | None) -> dict[str, Any]:
        self.runtime.gate.check(Purpose.PROVIDE_FEATURES, [DataElement.FACE_IMAGE, DataElement.TEMPLATE])
        rule = rule_config(self.session, self.app_id, rule_id)
        engine = self.runtime.face_engine(rule.embedder)
        result = engine.compare(image_a, image_b, self._key(engine))
        threshold = rule.compare_threshold
        return {"sim": round(result.sim, 2), "match": result.sim >= threshold, "threshold": threshold}

    # --- collections ---------------------------------------------------------------------------

    def _collection(self, collection_id: str) -> tuple[Collection, str]:
        row = self.session.execute(
            select(Collection, Resource.name)
            .join(Resource, Resource.id == Collection.id)
            .where(Collection.id == collection_id, Collection.app_id == self.app_id)
        ).first()
        if row is None:
            raise ResourceNotFound("The collection does not exist.", code="ResourceNotFound.Collection")
        return row[0], row[1]

    def create_collection(
        self, name: str, duplicate_check: bool, *, embedder: str | None = None, rule_id: str | None = None
    ) -> dict[str, Any]:
        """A new collection; its embedder is ``embedder``, else the rule's, else ``sface``."""
        chosen = embedder or rule_config(self.session, self.app_id, rule_id).embedder
        self.runtime.face_engine(chosen)  # fails now (EmbedderUnavailable) rather than at first enrolment
        now = self.runtime.clock()
        collection_id = ids.resource_id("col")
        try:
            with self.session.begin_nested():
                self.session.add(
                    Resource(id=collection_id, app_id=self.app_id, kind="collection", name=name, created_at=now)
                )
                self.session.flush()
        except IntegrityError as exc:
            raise InvalidParameterValue(
                "A collection with that name already exists.", code="InvalidParameterValue.CollectionNameExists"
            ) from exc
        self.session.add(
            Collection(
                id=collection_id, app_id=self.app_id, duplicate_check=duplicate_check, embedder=chosen, created_at=now
            )
        )
        self.session.flush()
        return {"collection_id": collection_id, "name": name, "duplicate_check": duplicate_check, "embedder": chosen}

    def describe_collection(self, collection_id: str) -> dict[str, Any]:
        collection, name = self._collection(collection_id)
        count = self.repo.count(self.app_id, collection_id, purpose=Purpose.PROVIDE_FEATURES)
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
        threshold: float,
    ) -> dict[str, Any]:
        collection, _ = self._collection(collection_id)
        engine = self.runtime.face_engine(collection.embedder)
        key = self._key(engine)
        enrolment = engine.enrol(image, key, require_single=True)
        manager = self.runtime.face_index
        if collection.duplicate_check:
            manager.sync(self.session, self.repo, self.app_id)
            clashes = [m for m in self._search(engine, collection_id, enrolment.template) if m["sim"] >= threshold]
            if clashes:
                raise DuplicateSubject()
        now = self.runtime.clock()
        blob_id = None
        if retain_image:
            blob_id = self.runtime.blobs.put(
                self.session,
                app_id=self.app_id,
                kind="face_image",
                data=image,
                now=now,
                expires_at=now + timedelta(hours=MEDIA_HOURS),
                subject_id=subject_id,
            )
        self.repo.add(
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

    def _search(self, engine: FaceEngine, collection_id: str, template: FaceTemplate) -> list[dict[str, Any]]:
        manager = self.runtime.face_index
        queries = {template.key_id: template}
        matches = manager.search(collection_id, queries, 5)
        return [{"subject_id": m.id, "sim": round(engine.sim(m.score), 2)} for m in matches]

    def search(self, collection_id: str, image: bytes, top_k: int) -> dict[str, Any]:
        collection, _ = self._collection(collection_id)
        self.runtime.gate.check(Purpose.PROVIDE_FEATURES, [DataElement.FACE_IMAGE, DataElement.TEMPLATE])
        manager = self.runtime.face_index
        manager.sync(self.session, self.repo, self.app_id)
        engine = self.runtime.face_engine(collection.embedder)
        decoded = engine.decode(image)
        embedding, _quality = engine.embed(decoded)
        queries = {}
        for template_key_id in manager.key_ids(collection_id) or [self._key(engine).key_id]:
            key = keystore.key_by_id(self.session, self.runtime.keyring, self.app_id, base_key_id(template_key_id))
            query = engine.protector(key).protect(embedding)
            queries[query.key_id] = query
        del embedding
        matches = manager.search(collection_id, queries, top_k)
        return {
            "collection_id": collection_id,
            "matches": [{"subject_id": m.id, "sim": round(engine.sim(m.score), 2)} for m in matches],
        }

    def delete_subject(self, collection_id: str, subject_id: str) -> dict[str, Any]:
        self._collection(collection_id)
        row = self.repo.remove(
            self.app_id, collection_id, subject_id, now=self.runtime.clock(), purpose=Purpose.PROVIDE_FEATURES
        )
        if row.image_blob_id:
            self.runtime.blobs.delete(self.session, row.image_blob_id)
        return {"collection_id": collection_id, "subject_id": subject_id, "deleted": True}
