"""What the face services (:mod:`openkyc.biometrics.service`) share: the models they lease, the
duplicate-face error, and :class:`FaceServiceBase`, which reads an app's rule, key and collection,
locks a collection, keeps an enrolment photo and scans the 1:N index."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openkyc.biometrics import keystore
from openkyc.biometrics.calibration import new_key_format
from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.search import IndexManager
from openkyc.biometrics.templates import FaceTemplate, TemplateKey
from openkyc.config.rules import RuleConfig
from openkyc.config.service import admitted_rule
from openkyc.errors import FailedOperation, ResourceNotFound
from openkyc.pool import ModelPool
from openkyc.privacy.access import DataAccess
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.accounts import Resource
from openkyc.store.models.faces import Collection

MEDIA_HOURS = 2.0


class DuplicateSubject(FailedOperation):
    code = "FailedOperation.DuplicateFace"
    default_message = "Another subject in the collection already matches this face."


class FaceModels(Protocol):
    """What face services need from one model instance of the pool."""

    def face_engine(self, name: str = ...) -> FaceEngine: ...


@dataclass
class FaceServiceBase:
    """What face work for one app reads and locks: its rule, its template key, a collection."""

    data: DataAccess
    models: ModelPool[FaceModels]
    index: IndexManager
    app_id: int
    client_ip: str | None = None  # the caller's address, checked against a named rule's ip_allow_list
    template_bits: int = field(kw_only=True)  # size of the app's key when this makes it (OPENKYC_TEMPLATE_BITS)

    def _repo(self, session: Session) -> SubjectRepository:
        return SubjectRepository(session, self.data.gate, self.data.keyring)

    def _rule(self, session: Session, rule_id: str | None) -> RuleConfig:
        return admitted_rule(session, self.app_id, rule_id, self.client_ip)

    def _key(self, session: Session, embedder: str) -> TemplateKey:
        """The app's active key; ``engine.protector`` derives the embedder's sub-key from it. A key
        made here has :attr:`template_bits`; an existing key keeps its own size and version."""
        bits, version = new_key_format(embedder, self.template_bits)
        return keystore.active_key(session, self.data.keyring, self.app_id, bits, self.data.clock(), version=version)

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

    def _still_there(self, session: Session, collection_id: str, *, exclusive: bool) -> None:
        """The collection still exists (deleted meanwhile: 404), and a concurrent delete waits for this
        transaction: the row's write lock when ``exclusive`` (serialises duplicate checks), else a
        share lock (PostgreSQL; SQLite serialises writers anyway). One lock each, never a share lock
        upgraded later, so two enrolments cannot deadlock on the row."""
        if exclusive:
            lock_collection(session, collection_id)
        self._collection(session, collection_id, share=not exclusive)

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

    def _retain(self, session: Session, image: bytes, subject_id: str, now: datetime, rule_id: str | None) -> str:
        """The enrolment photo kept (sealed) for template re-issue, for ``MEDIA_HOURS`` (or the shorter
        ``media_hours`` of ``rule_id``, the rule named by the call, which the sweep applies); its blob id."""
        return self.data.blobs.put(
            session,
            app_id=self.app_id,
            kind="face_image",
            data=image,
            now=now,
            expires_at=now + timedelta(hours=MEDIA_HOURS),
            subject_id=subject_id,
            rule_id=rule_id,
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


def lock_collection(session: Session, collection_id: str) -> None:
    """Takes the collection row's write lock until commit (PostgreSQL: row lock; SQLite: the
    database write lock), by a no-op update that every backend serialises."""
    session.execute(update(Collection).where(Collection.id == collection_id).values(embedder=Collection.embedder))
