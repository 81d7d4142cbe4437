"""The key store: one data key per data subject (and per anonymous record), kept apart from the data.

Crypto-shredding. Every subject's personal data (identification fields, images, verification
results, the subject id itself) is sealed under that subject's own key (``sk-...``); data tied to
no subject (a hosted session's extra data and reference photo, an anonymous verification) under a
key of its own record (``rk-...``) that expires with the record. Erasure destroys the key first:
every copy of the ciphertext anywhere (dead tuples, WAL, replicas, backups of the data, blob
files) becomes undecryptable at once; the rows and files are deleted after.

The keys are AES-256-GCM keys wrapped (the key id as associated data) by the store's **wrapping
key**, itself wrapped by the master key, in their own database: by default the SQLite file ``data_dir/keys/keys.db`` (``secure_delete`` on, the WAL
truncated after each destruction), or ``OPENKYC_KEY_STORE_URL`` (another PostgreSQL database).
A backup of the data database therefore holds no usable key.

Master-key rotation re-wraps only the wrapping key, so running processes, which hold it unwrapped,
keep working. The store also holds the **lookup key** (32 random bytes, wrapped by the master key):
subject ids
and BizTokens are stored in the data database only as HMAC-SHA256 under it
(:meth:`SubjectKeys.subject_ref`, :meth:`SubjectKeys.token_ref`), so the data database alone does
not reveal them; lookups hash the id the client gives.

Repositories reach the store through their database session (:func:`subject_keys_for`): the runtime
attaches it to the session factory, as it does the audit signer.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import BigInteger, Engine, LargeBinary, String, Table, delete, event, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from openkyc.errors import InternalError
from openkyc.privacy.crypto import MasterKey, SealingKey, new_key
from openkyc.store import db
from openkyc.store.base import UTCDateTime

__all__ = [
    "SUBJECT_TABLES",
    "KeyStoreBase",
    "StoredKey",
    "SubjectKeys",
    "attach_subject_keys",
    "subject_keys_for",
    "subject_keys_of",
]

log = logging.getLogger("openkyc.store.subject_keys")

# Data-database tables that hold a subject's data (vacuumed on PostgreSQL after an erasure).
SUBJECT_TABLES = [
    "subjects", "verification_results", "blobs", "consents", "model_improvement_items", "index_events", "idempotency_keys",
]  # fmt: skip

_ATTACHED = "openkyc.subject_keys"
_LOOKUP_SECRET = "lookup-hash-v1"
_WRAPPING_SECRET = "key-wrapping-v1"
_FETCH_BATCH = 10_000  # keys per SELECT: one read per chunk of the index loader (SQLite allows 32,766 variables)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class KeyStoreBase(DeclarativeBase):
    """The key store's own metadata: never part of the data database or its migrations."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class StoredKey(KeyStoreBase):
    """A subject key (``owner_ref`` set) or a record key (``expires_at`` set), wrapped."""

    __tablename__ = "subject_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(BigInteger, index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_by: Mapped[str] = mapped_column(String(32))  # id of the store's wrapping key
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"StoredKey(id={self.id!r}, app_id={self.app_id!r})"


class StoreSecret(KeyStoreBase):
    """A service-wide secret kept with the keys (the lookup key, the wrapping key), wrapped by the
    master key."""

    __tablename__ = "store_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"StoreSecret(name={self.name!r})"


def _make_engine(url: str) -> Engine:
    engine = db.make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _secure_delete(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA secure_delete=ON")  # a destroyed key's bytes are zeroed in the file
            cursor.close()

    return engine


class SubjectKeys:
    """Creates, finds and destroys subject and record keys; computes the keyed lookup hashes."""

    def __init__(self, engine: Engine, master: MasterKey) -> None:
        self.engine = engine
        self.master = master
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)
        KeyStoreBase.metadata.create_all(engine)
        self._lookup = self._secret(_LOOKUP_SECRET)
        self._wrapping = MasterKey(self._secret(_WRAPPING_SECRET))

    @classmethod
    def open(cls, url: str, master: MasterKey) -> SubjectKeys:
        return cls(_make_engine(url), master)

    def __repr__(self) -> str:
        return f"SubjectKeys(backend={self.engine.dialect.name!r})"

    def close(self) -> None:
        self.engine.dispose()

    # --- the lookup key ------------------------------------------------------------------------

    def _secret(self, name: str) -> bytes:
        for _ in range(2):  # a concurrent first start may create it between our read and insert
            with db.transaction(self._sessions) as session:
                row = session.get(StoreSecret, name)
                if row is not None:
                    return self.master.unwrap(name, row.wrapped)
            secret = new_key()
            try:
                with db.transaction(self._sessions) as session:
                    session.add(
                        StoreSecret(
                            name=name,
                            wrapped=self.master.wrap(name, secret),
                            master_key_id=self.master.key_id,
                            created_at=_utcnow(),
                        )
                    )
                return secret
            except IntegrityError:
                continue
        raise InternalError("A key-store secret could not be created.")

    def subject_ref(self, app_id: int, subject_id: str) -> str:
        """What the data database stores instead of ``subject_id`` (64 hex characters)."""
        message = f"subject\x1f{app_id}\x1f{subject_id}".encode()
        return hmac.new(self._lookup, message, hashlib.sha256).hexdigest()

    def token_ref(self, token: str) -> str:
        """What the data database stores instead of a BizToken (64 hex characters)."""
        return hmac.new(self._lookup, b"biz-token\x1f" + token.encode(), hashlib.sha256).hexdigest()

    # --- keys ----------------------------------------------------------------------------------

    def _unwrap(self, row: StoredKey) -> SealingKey:
        return SealingKey(row.id, self._wrapping.unwrap(row.id, row.wrapped_key))

    def _made(
        self, app_id: int, prefix: str, owner_ref: str | None, expires_at: datetime | None
    ) -> tuple[SealingKey, StoredKey]:
        """A fresh key and its wrapped row (not added to any session yet)."""
        key_id = prefix + secrets.token_hex(12)
        key = new_key()
        row = StoredKey(
            id=key_id,
            owner_ref=owner_ref,
            app_id=app_id,
            wrapped_key=self._wrapping.wrap(key_id, key),
            wrapped_by=self._wrapping.key_id,
            created_at=_utcnow(),
            expires_at=expires_at,
        )
        return SealingKey(key_id, key), row

    def _new_row(self, app_id: int, prefix: str, owner_ref: str | None, expires_at: datetime | None) -> SealingKey:
        key, row = self._made(app_id, prefix, owner_ref, expires_at)
        with db.transaction(self._sessions) as session:
            session.add(row)
        return key

    def for_subject(self, app_id: int, subject_id: str) -> SealingKey:
        """The subject's key, created on its first use (committed at once, in the key store)."""
        ref = self.subject_ref(app_id, subject_id)
        for _ in range(2):
            with db.transaction(self._sessions) as session:
                row = session.scalar(select(StoredKey).where(StoredKey.owner_ref == ref))
                if row is not None:
                    return self._unwrap(row)
            try:
                return self._new_row(app_id, "sk-", ref, None)
            except IntegrityError:
                continue  # another request created it first: use that one
        raise InternalError("A subject key could not be created.")

    def for_subjects(self, app_id: int, subject_ids: Iterable[str]) -> dict[str, SealingKey]:
        """Several subjects' keys at once (bulk import): the existing ones in one SELECT per
        10,000, the missing ones created in one key-store transaction (committed at once, as
        :meth:`for_subject` does). A race with a concurrent creator falls back to one at a time."""
        refs = {subject_id: self.subject_ref(app_id, subject_id) for subject_id in dict.fromkeys(subject_ids)}
        out: dict[str, SealingKey] = {}
        if not refs:
            return out
        by_ref = {ref: subject_id for subject_id, ref in refs.items()}
        wanted = sorted(by_ref)
        with db.transaction(self._sessions) as session:
            for start in range(0, len(wanted), _FETCH_BATCH):
                chunk = wanted[start : start + _FETCH_BATCH]
                for row in session.scalars(select(StoredKey).where(StoredKey.owner_ref.in_(chunk))):
                    out[by_ref[str(row.owner_ref)]] = self._unwrap(row)
        missing = [subject_id for subject_id in refs if subject_id not in out]
        if not missing:
            return out
        made: dict[str, SealingKey] = {}
        rows: list[dict[str, Any]] = []
        columns = ("id", "owner_ref", "app_id", "wrapped_key", "wrapped_by", "created_at", "expires_at")
        for subject_id in missing:
            made[subject_id], row = self._made(app_id, "sk-", refs[subject_id], None)
            rows.append({name: getattr(row, name) for name in columns})
        try:  # one multi-row INSERT (Core: no ORM unit of work for thousands of rows)
            with db.transaction(self._sessions) as session:
                session.execute(insert(cast(Table, StoredKey.__table__)), rows)
        except IntegrityError:  # another process created one of them first: one at a time
            made = {subject_id: self.for_subject(app_id, subject_id) for subject_id in missing}
        out.update(made)
        return out

    def for_record(self, app_id: int, expires_at: datetime) -> SealingKey:
        """A new key for one record tied to no subject; destroyed once ``expires_at`` has passed."""
        return self._new_row(app_id, "rk-", None, expires_at)

    def key(self, key_id: str) -> bytes | None:
        """The unwrapped key named ``key_id``, or None when there is none (destroyed)."""
        return self.keys([key_id]).get(key_id)

    def keys(self, key_ids: Iterable[str]) -> dict[str, bytes]:
        """Several keys at once, unwrapped in one batch: one SELECT per 10,000 ids, in one
        transaction (the 1:N index loader asks once per chunk of templates). Ids of destroyed keys
        are missing from the answer."""
        wanted = sorted(set(key_ids))
        out: dict[str, bytes] = {}
        if not wanted:
            return out
        with db.transaction(self._sessions) as session:
            for start in range(0, len(wanted), _FETCH_BATCH):
                chunk = wanted[start : start + _FETCH_BATCH]
                rows = session.execute(select(StoredKey.id, StoredKey.wrapped_key).where(StoredKey.id.in_(chunk)))
                out.update(self._wrapping.unwrap_many((key_id, bytes(wrapped)) for key_id, wrapped in rows))
        return out

    # --- destruction ---------------------------------------------------------------------------

    def destroy(self, app_id: int, subject_id: str) -> int:
        """Crypto-shredding: destroy the subject's key (every copy of its data is then unreadable).

        Run it first in an erasure, before the rows and files are deleted; returns the number of
        keys destroyed (0 when the subject never had one).
        """
        ref = self.subject_ref(app_id, subject_id)
        with db.transaction(self._sessions) as session:
            result = session.execute(delete(StoredKey).where(StoredKey.owner_ref == ref, StoredKey.app_id == app_id))
            count = int(getattr(result, "rowcount", 0) or 0)
        self._scrub()
        return count

    def destroy_app(self, app_id: int) -> int:
        """Offboarding: destroy every subject and record key of an app (all its data unreadable)."""
        with db.transaction(self._sessions) as session:
            count = int(
                getattr(session.execute(delete(StoredKey).where(StoredKey.app_id == app_id)), "rowcount", 0) or 0
            )
        self._scrub()
        return count

    def destroy_records(self, app_id: int, key_ids: Iterable[str]) -> int:
        """Destroy the named record keys of an app now (erasure of a person an anonymous record
        names, e.g. a stored idempotent answer); subject keys are never destroyed this way."""
        wanted = sorted({k for k in key_ids if k.startswith("rk-")})
        if not wanted:
            return 0
        with db.transaction(self._sessions) as session:
            result = session.execute(
                delete(StoredKey).where(
                    StoredKey.id.in_(wanted), StoredKey.app_id == app_id, StoredKey.owner_ref.is_(None)
                )
            )
            count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            self._scrub()
        return count

    def destroy_expired(self, now: datetime) -> int:
        """Destroy the record keys whose record has expired (a retention sweep step)."""
        with db.transaction(self._sessions) as session:
            result = session.execute(
                delete(StoredKey).where(StoredKey.expires_at.is_not(None), StoredKey.expires_at <= now)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            self._scrub()
        return count

    def destroy_key(self, key_id: str) -> int:
        """Destroy one record key by its id (an index snapshot's key when the file is replaced)."""
        with db.transaction(self._sessions) as session:
            result = session.execute(delete(StoredKey).where(StoredKey.id == key_id, StoredKey.owner_ref.is_(None)))
            count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            self._scrub()
        return count

    def _scrub(self) -> None:
        """Leave no copy of a destroyed key in the key store's own files where the backend allows.

        SQLite: the page was zeroed (``secure_delete``); the WAL is checkpointed and truncated.
        PostgreSQL: ``VACUUM FULL`` rewrites the (small) key table into new files, since a plain
        ``VACUUM`` frees a dead tuple's space without overwriting it (measured: the wrapped key of
        the newest row stayed in the page). The server's WAL and its archive keep the row until
        they are recycled (see docs/deployment.md).
        """
        try:
            with self.engine.connect() as connection:
                if self.engine.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                elif self.engine.dialect.name == "postgresql":
                    connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "VACUUM FULL subject_keys"
                    )
        except Exception:  # the key is gone already; this only shortens what the files keep
            log.warning("key store scrub after key destruction failed", exc_info=True)

    # --- master-key rotation -------------------------------------------------------------------

    def rewrap(self, new: MasterKey) -> int:
        """Master-key rotation: the lookup and wrapping keys re-wrapped under ``new``; returns how
        many subject and record keys that covers (they stay wrapped by the wrapping key)."""
        with db.transaction(self._sessions) as session:
            for secret in session.scalars(select(StoreSecret)).all():
                secret.wrapped = new.wrap(secret.name, self.master.unwrap(secret.name, secret.wrapped))
                secret.master_key_id = new.key_id
            count = int(session.scalar(select(func.count()).select_from(StoredKey)) or 0)
        self.master = new
        return count


def attach_subject_keys(factory: sessionmaker[Session], keys: SubjectKeys) -> None:
    """Every session ``factory`` makes from now on reaches ``keys`` (:func:`subject_keys_for`)."""
    info = dict(factory.kw.get("info") or {})
    info[_ATTACHED] = keys
    factory.configure(info=info)


def subject_keys_of(factory: sessionmaker[Session]) -> SubjectKeys:
    """The key store attached to a session factory (to act on keys with no transaction open)."""
    keys = (factory.kw.get("info") or {}).get(_ATTACHED)
    if not isinstance(keys, SubjectKeys):
        raise InternalError("No key store: the session factory has no subject keys attached.")
    return keys


def subject_keys_for(session: Session) -> SubjectKeys:
    keys = session.info.get(_ATTACHED)
    if not isinstance(keys, SubjectKeys):
        raise InternalError("No key store: the session factory has no subject keys attached.")
    return keys
