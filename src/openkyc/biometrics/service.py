"""Face services: detection, 1:1 compare, collections with 1:N search. Each states its purpose.

The embedder is chosen per rule (compare) and per collection (fixed at creation: enrol and search
always use the collection's embedder, so one collection never mixes templates of two embedders).

The subjects of a collection (enrolment, photo replacement, deletion) are in
:mod:`~openkyc.biometrics.enrolment`; what both use in :mod:`~openkyc.biometrics.service_base`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError

from openkyc.accounts import ids
from openkyc.biometrics import keystore
from openkyc.biometrics.embedding import check_available
from openkyc.biometrics.engine import base_key_id
from openkyc.biometrics.enrolment import Enrolment
from openkyc.biometrics.service_base import MEDIA_HOURS, DuplicateSubject, FaceModels, FaceServiceBase, lock_collection
from openkyc.biometrics.templates import FaceTemplate
from openkyc.errors import InvalidParameterValue
from openkyc.privacy import audit
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose
from openkyc.store.models.accounts import Resource
from openkyc.store.models.faces import Collection

__all__ = ["MEDIA_HOURS", "DuplicateSubject", "FaceModels", "FaceService", "FaceServiceBase", "lock_collection"]


@dataclass
class FaceService(Enrolment):
    """Face work for one app. Transactions are short and never span model inference: read (key,
    rule, collection) and commit, run the models on a pooled instance, then write and commit."""

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
