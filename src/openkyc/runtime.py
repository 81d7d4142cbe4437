"""What a running service holds: settings, database, keys, clock and lazily loaded engines."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.search import IndexManager
from openkyc.liveness.checker import LivenessChecker
from openkyc.privacy.audit import AuditLogSink
from openkyc.privacy.consent import SqlConsentLookup
from openkyc.privacy.crypto import Keyring, MasterKey
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.policy import load_policy
from openkyc.settings import Settings
from openkyc.store import db
from openkyc.store.blobs import BlobStore
from openkyc.store.keys import load_keyring, load_master_key

if TYPE_CHECKING:
    from openkyc.documents.reader import DocumentReader


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    master_key: MasterKey
    keyring: Keyring
    clock: Callable[[], datetime] = utc_now
    components: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Open the database (applying migrations) and unwrap the data keys."""
        engine = db.make_engine(settings.resolved_database_url)
        if migrate:
            db.upgrade(engine)
        sessions = db.session_factory(engine)
        master = load_master_key(settings)
        with db.transaction(sessions) as session:
            keyring = load_keyring(session, master)
        return cls(settings=settings, engine=engine, sessions=sessions, master_key=master, keyring=keyring)

    def transaction(self) -> Any:
        return db.transaction(self.sessions)

    def component(self, name: str, factory: Callable[[], Any]) -> Any:
        """A heavy component (a model engine, an index) built once, on first use."""
        built = self.components.get(name)
        if built is not None:
            return built  # the common case: no lock on every request
        with self._lock:
            if name not in self.components:
                self.components[name] = factory()
            return self.components[name]

    @property
    def gate(self) -> PurposeGate:
        """The purpose gate: the policy, recorded consents, refusals written to the audit log."""

        def build() -> PurposeGate:
            policy = load_policy(self.settings.policy_file)
            return PurposeGate(policy, SqlConsentLookup(self.sessions), AuditLogSink(self.sessions, clock=self.clock))

        gate: PurposeGate = self.component("gate", build)
        return gate

    @property
    def blobs(self) -> BlobStore:
        store: BlobStore = self.component("blobs", lambda: BlobStore(self.settings.blob_dir, self.keyring))
        return store

    @property
    def faces(self) -> FaceEngine:
        """YuNet + SFace, loaded on first use (sha256-checked against the model registry)."""
        return self.face_engine("sface")

    def face_engine(self, name: str) -> FaceEngine:
        """The face engine of embedder ``name`` (``sface``, ``dlib``, ``fusion``), built once.

        Each has its own calibration table; ``dlib``/``fusion`` without the ``openkyc[dlib]`` extra
        raise ``EmbedderUnavailable`` (and nothing is cached, so installing it needs a restart only).
        """
        engine: FaceEngine = self.component(
            "faces" if name == "sface" else f"faces:{name}",
            lambda: FaceEngine.for_embedder(
                name,
                num_threads=self.settings.model_threads,
                allow_noncommercial=self.settings.allow_noncommercial_models,
            ),
        )
        return engine

    @property
    def liveness(self) -> LivenessChecker:
        """Liveness over the face engine's detector; the embedder catches a face that changes."""

        def build() -> LivenessChecker:
            faces = self.faces
            return LivenessChecker(faces.detector, embedder=faces.embedder)

        checker: LivenessChecker = self.component("liveness", build)
        return checker

    @property
    def documents(self) -> tuple[DocumentReader, threading.Lock]:
        """The document reader (RapidOCR + YuNet for the portrait) and the lock that serialises it."""

        def build() -> tuple[DocumentReader, threading.Lock]:
            from openkyc.documents.reader import DocumentReader

            return DocumentReader.default(num_threads=self.settings.model_threads), threading.Lock()

        reader: tuple[DocumentReader, threading.Lock] = self.component("documents", build)
        return reader

    @property
    def face_index(self) -> IndexManager:
        manager: IndexManager = self.component("face_index", IndexManager)
        return manager

    def close(self) -> None:
        self.engine.dispose()
