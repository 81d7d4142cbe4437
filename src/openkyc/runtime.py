"""The composition root: settings, database, keys, clock, the model pool and the 1:N index.

Only adapters (``api``, ``cli``) use :class:`Runtime`; they hand services the narrow pieces they use
(:class:`~openkyc.privacy.access.DataAccess`, the model pool, the index).
"""

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
from openkyc.biometrics.snapshot import SnapshotStore
from openkyc.liveness.checker import LivenessChecker
from openkyc.pool import ModelPool
from openkyc.privacy.access import DataAccess
from openkyc.privacy.audit import AuditLogSink, attach_signer
from openkyc.privacy.audit_signing import AuditSigner, CheckpointFile, load_audit_key
from openkyc.privacy.consent import SqlConsentLookup
from openkyc.privacy.crypto import Keyring, MasterKey
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.policy import load_policy
from openkyc.settings import Settings
from openkyc.store import db
from openkyc.store.blobs import BlobStore
from openkyc.store.keys import load_keyring, load_master_key
from openkyc.store.live_keyring import LiveKeyring
from openkyc.store.subject_keys import SubjectKeys, attach_subject_keys
from openkyc.usage.prices import PriceBook
from openkyc.usage.prices import load as load_prices

if TYPE_CHECKING:
    from openkyc.documents.reader import DocumentReader
    from openkyc.privacy.sweep import Sweeper


class ModelSet:
    """One instance of each model a request may need, built on first use.

    Not thread-safe by design: a ``ModelPool`` hands a set to one thread at a time. The liveness
    checker shares the set's YuNet and SFace; the document reader has its own YuNet for portraits.
    """

    def __init__(self, *, num_threads: int, allow_noncommercial: bool) -> None:
        self.num_threads = num_threads
        self.allow_noncommercial = allow_noncommercial
        self._engines: dict[str, FaceEngine] = {}
        self._liveness: LivenessChecker | None = None
        self._documents: DocumentReader | None = None

    def __repr__(self) -> str:
        return f"ModelSet(engines={sorted(self._engines)}, liveness={self._liveness is not None})"

    def face_engine(self, name: str = "sface") -> FaceEngine:
        """YuNet + the embedder ``name`` (``sface``, ``dlib``, ``fusion``), sha256-checked on load.

        ``dlib``/``fusion`` without the ``openkyc[dlib]`` extra raise ``EmbedderUnavailable``.
        """
        engine = self._engines.get(name)
        if engine is None:
            engine = self._engines[name] = FaceEngine.for_embedder(
                name, num_threads=self.num_threads, allow_noncommercial=self.allow_noncommercial
            )
        return engine

    def warm_up(self) -> None:
        """Runs each built model once on a synthetic image, so that the first request does not pay
        for first-inference work (buffer allocation, kernel selection) of OpenCV's DNN and ONNX
        Runtime. Nothing personal is involved: blank and noise images."""
        import numpy as np

        from openkyc.errors import OpenKYCError

        noise = np.random.default_rng(0).integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
        for engine in self._engines.values():
            engine.detector.detect(noise)
            embed_aligned = getattr(engine.embedder, "embed_aligned", None)
            if embed_aligned is not None:
                embed_aligned(noise[:112, :112].copy())
        if self._documents is not None:
            try:
                self._documents.read(noise, today=utc_now().date())
            except OpenKYCError:
                pass  # no document in noise: the detector and recogniser ran anyway
            from openkyc.api.warmup import warm_documents

            warm_documents(self._documents, utc_now().date())  # a drawn page: lines, MRZ parsing

    def loaded(self) -> list[str]:
        """Names of the models built so far: face engines by embedder, ``liveness``, ``documents``."""
        extra = [name for name, built in (("documents", self._documents), ("liveness", self._liveness)) if built]
        return sorted(self._engines) + extra

    @property
    def faces(self) -> FaceEngine:
        return self.face_engine("sface")

    @property
    def liveness(self) -> LivenessChecker:
        """Liveness over the set's detector; the embedder catches a face that changes."""
        if self._liveness is None:
            faces = self.faces
            self._liveness = LivenessChecker(faces.detector, embedder=faces.embedder)
        return self._liveness

    @property
    def documents(self) -> DocumentReader:
        """The document reader (RapidOCR + YuNet for the portrait)."""
        if self._documents is None:
            from openkyc.documents.reader import DocumentReader

            self._documents = DocumentReader.default(num_threads=self.num_threads)
        return self._documents


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    master_key: MasterKey
    keyring: Keyring
    subject_keys: SubjectKeys
    clock: Callable[[], datetime] = utc_now
    components: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Open the database (applying migrations), the key store, and unwrap the data keys."""
        engine = db.make_engine(settings.resolved_database_url)
        master = load_master_key(settings)
        subject_keys = SubjectKeys.open(settings.resolved_key_store_url, master)
        if migrate:
            db.upgrade(engine, keys=subject_keys)
        sessions = db.session_factory(engine)
        with db.transaction(sessions) as session:
            loaded = load_keyring(session, master)
            audit_key = load_audit_key(session, master)
        # follows rotations by other processes (``openkyc keys ...``) without a restart
        keyring = LiveKeyring(loaded, sessions, master, lambda: load_master_key(settings))
        keyring.resolver = subject_keys.key  # subject and record keys come from the key store
        attach_subject_keys(sessions, subject_keys)
        checkpoints = CheckpointFile(settings.resolved_audit_checkpoint_file)
        attach_signer(sessions, AuditSigner(audit_key, checkpoints, every=settings.audit_checkpoint_every))
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            master_key=master,
            keyring=keyring,
            subject_keys=subject_keys,
        )

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
        store: BlobStore = self.component("blobs", lambda: BlobStore(self.settings.blob_dir, self.keyring, self.gate))
        return store

    @property
    def access(self) -> DataAccess:
        """Transactions, gate, keys, blobs and clock: what services get to reach stored data."""
        access: DataAccess = self.component(
            # the clock is looked up on each call, so a replaced ``runtime.clock`` (tests) takes effect
            "access",
            lambda: DataAccess(self.sessions, self.gate, self.keyring, self.blobs, lambda: self.clock()),
        )
        return access

    @property
    def sweeper(self) -> Sweeper:
        """What the retention sweep needs: data access, settings and this process's sweep lock."""
        from openkyc.privacy.sweep import Sweeper  # the sweep imports every context: not at start-up

        lock: threading.Lock = self.component("retention_sweep_lock", threading.Lock)  # one per process
        return Sweeper(self.access, self.settings, lock)

    @property
    def models(self) -> ModelPool[ModelSet]:
        """The bounded pool of model sets (one thread at a time each) with its bounded queue."""

        def build() -> ModelPool[ModelSet]:
            settings = self.settings
            return ModelPool(
                lambda: ModelSet(
                    num_threads=settings.model_threads, allow_noncommercial=settings.allow_noncommercial_models
                ),
                size=settings.resolved_model_pool_size,
                queue_size=settings.model_queue_size,
                timeout_s=settings.model_queue_timeout_seconds,
            )

        pool: ModelPool[ModelSet] = self.component("models", build)
        return pool

    @property
    def prices(self) -> PriceBook:
        """The price lists of ``OPENKYC_PRICE_LIST_FILE`` (or the built-in one), read once."""
        book: PriceBook = self.component("prices", lambda: load_prices(self.settings.price_list_file))
        return book

    @property
    def face_index(self) -> IndexManager:
        manager: IndexManager = self.component("face_index", lambda: IndexManager(threads=self.settings.search_threads))
        return manager

    @property
    def index_snapshots(self) -> SnapshotStore | None:
        """Encrypted 1:N index snapshots under ``DATA_DIR/index`` (None when turned off)."""
        if not self.settings.index_snapshot_min_templates:
            return None
        store: SnapshotStore = self.component(
            "index_snapshots",
            lambda: SnapshotStore(
                self.settings.data_dir / "index", self.subject_keys, hours=self.settings.index_snapshot_hours
            ),
        )
        return store

    def close(self) -> None:
        self.engine.dispose()
        self.subject_keys.close()
