"""Stored answers of retried writes (``Idempotency-Key``): claim, complete, release, purge.

A row per (app, key) holds a fingerprint of the request (sha256 of method, path, query and body),
a state (``in_progress`` while the first request runs, ``done`` once its 2xx answer is stored),
the answer's status, content type and body, and an expiry. The body (answers can hold personal
data: a subject id, a best frame) is sealed under a record key of its own in the key store
(:mod:`openkyc.store.subject_keys`), which expires with the row: the sweep step
``expired_record_keys`` destroys it, and erasing a person whose id an answer holds destroys it at
once, so copies in backups and the WAL stop opening. Only 2xx answers are kept; any other outcome deletes the row, so the
request may be retried. A row left ``in_progress`` by a process that died is taken over after
``IN_PROGRESS_LEASE``.

Claiming (and so replaying) and storing an answer are gated touches of personal data, like the blob
store: :class:`AnswerStore` states the purpose of the route whose answer it keeps and the data
elements that answer can hold (declared per route in :mod:`openkyc.api.idempotency`), the purpose
gate decides before the row is read or the answer sealed, and each replay or store is recorded in
the request's ledger. The module-level functions are the raw row operations under it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from openkyc.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from openkyc.privacy import ledger
from openkyc.privacy.crypto import Keyring
from openkyc.privacy.datamap import ANSWER_ELEMENTS as ANSWER_ELEMENTS  # re-exported: one list, in the data map
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import checks_purpose, personal_data_repository
from openkyc.privacy.vocabulary import DataElement, Obligation, Purpose
from openkyc.store.models.idempotency import IdempotentRequest
from openkyc.store.subject_keys import subject_keys_for

IN_PROGRESS = "in_progress"
DONE = "done"
IN_PROGRESS_LEASE = timedelta(minutes=5)

E = DataElement
#: Every element a stored answer can hold: what the routes' answers hold (each route declares its
#: own subset, openkyc.api.idempotency.ANSWERS); the data map's ``response_enc`` names the same.


@dataclass(frozen=True, repr=False)
class StoredAnswer:
    status_code: int
    content_type: str | None
    body: bytes

    def __repr__(self) -> str:
        return f"StoredAnswer(status_code={self.status_code}, bytes={len(self.body)})"


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode("latin-1"), query.encode("latin-1")):
        digest.update(part + b"\n")
    digest.update(body)
    return digest.hexdigest()


def _aad(app_id: int, key: str) -> bytes:
    return f"idempotency:{app_id}:{key}".encode()


@personal_data_repository
class AnswerStore:
    """Stored answers of one database session, gated: each call states the purpose of the route
    whose answer it keeps and the elements that answer can hold (``()``: no personal data)."""

    def __init__(self, session: Session, gate: PurposeGate, keyring: Keyring) -> None:
        self.session = session
        self.gate = gate
        self.keyring = keyring

    def __repr__(self) -> str:
        return "AnswerStore()"

    def _check(
        self, purpose: Purpose | Obligation, elements: tuple[DataElement, ...], app_id: int
    ) -> tuple[DataElement, ...]:
        unknown = [e.value for e in elements if e not in ANSWER_ELEMENTS]
        if unknown:
            raise ValueError(f"a stored answer does not hold {unknown}: add them to ANSWER_ELEMENTS and the data map")
        if elements:
            self.gate.check(purpose, elements, app_id=app_id)
        return elements

    @checks_purpose(*ANSWER_ELEMENTS)
    def claim(
        self,
        app_id: int,
        key: str,
        request_hash: str,
        now: datetime,
        ttl: timedelta,
        *,
        purpose: Purpose | Obligation,
        elements: tuple[DataElement, ...],
    ) -> StoredAnswer | None:
        """Claims the key (``None``: run the request) or returns the stored answer to replay; the
        gate decides before the row is read, so a refused purpose never sees a stored answer."""
        checked = self._check(purpose, elements, app_id)
        answer = claim(self.session, self.keyring, app_id, key, request_hash, now, ttl)
        if answer is not None and checked:
            ledger.touched("AnswerStore.replay", checked, ledger.READ)
        return answer

    @checks_purpose(*ANSWER_ELEMENTS)
    def complete(
        self,
        app_id: int,
        key: str,
        status_code: int,
        content_type: str | None,
        body: bytes,
        *,
        purpose: Purpose | Obligation,
        elements: tuple[DataElement, ...],
    ) -> None:
        """Seals and keeps a 2xx answer (see :func:`complete`), a gated write."""
        checked = self._check(purpose, elements, app_id)
        if checked:
            ledger.touched("AnswerStore.complete", checked, ledger.WRITE)
        complete(self.session, self.keyring, app_id, key, status_code, content_type, body)

    @checks_purpose(*ANSWER_ELEMENTS)
    def release(self, app_id: int, key: str, *, purpose: Purpose | Obligation) -> None:
        """Forgets an unfinished claim: the row holds no answer yet, so nothing personal is touched."""
        release(self.session, app_id, key)


def claim(
    session: Session, keyring: Keyring, app_id: int, key: str, request_hash: str, now: datetime, ttl: timedelta
) -> StoredAnswer | None:
    """``None`` when this request now owns the key (run it); the stored answer to replay otherwise.

    Raises ``IdempotencyKeyReused`` for another request under the same key and
    ``IdempotencyKeyInProgress`` while the first is still running. A concurrent first use of the
    same key makes the flush raise ``IntegrityError``: the caller retries the claim once.
    """
    row = session.get(IdempotentRequest, (app_id, key))
    if row is None:
        session.add(
            IdempotentRequest(
                app_id=app_id,
                key=key,
                request_hash=request_hash,
                state=IN_PROGRESS,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        session.flush()
        return None
    stale = row.expires_at <= now or (row.state == IN_PROGRESS and row.created_at + IN_PROGRESS_LEASE <= now)
    if stale:
        # Conditional on what was read, so two takers of one stale row cannot both win.
        taken = session.execute(
            update(IdempotentRequest)
            .where(
                IdempotentRequest.app_id == app_id,
                IdempotentRequest.key == key,
                IdempotentRequest.state == row.state,
                IdempotentRequest.created_at == row.created_at,
            )
            .values(
                request_hash=request_hash,
                state=IN_PROGRESS,
                status_code=None,
                content_type=None,
                response_enc=None,
                created_at=now,
                expires_at=now + ttl,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            raise IdempotencyKeyInProgress(retry_after=1)
        return None
    if row.request_hash != request_hash:
        raise IdempotencyKeyReused()
    if row.state != DONE or row.response_enc is None or row.status_code is None:
        raise IdempotencyKeyInProgress(retry_after=1)
    body = keyring.decrypt(row.response_enc, _aad(app_id, key))
    return StoredAnswer(status_code=row.status_code, content_type=row.content_type, body=body)


def complete(
    session: Session, keyring: Keyring, app_id: int, key: str, status_code: int, content_type: str | None, body: bytes
) -> None:
    """Keeps the 2xx answer for replays until the row expires, sealed under a new record key that
    expires with it (``keyring`` opens it again on replay: the key store is its resolver)."""
    expires_at = session.scalar(
        select(IdempotentRequest.expires_at).where(IdempotentRequest.app_id == app_id, IdempotentRequest.key == key)
    )
    if expires_at is None:
        return  # released meanwhile: nothing to keep
    record_key = subject_keys_for(session).for_record(app_id, expires_at)
    session.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.app_id == app_id, IdempotentRequest.key == key)
        .values(
            state=DONE,
            status_code=status_code,
            content_type=content_type,
            response_enc=record_key.encrypt(body, _aad(app_id, key)),
        )
        .execution_options(synchronize_session=False)
    )


def release(session: Session, app_id: int, key: str) -> None:
    """Forgets a claim whose request did not end in a 2xx, so it can be retried."""
    session.execute(
        delete(IdempotentRequest)
        .where(IdempotentRequest.app_id == app_id, IdempotentRequest.key == key, IdempotentRequest.state == IN_PROGRESS)
        .execution_options(synchronize_session=False)
    )


def purge_expired(session: Session, now: datetime) -> int:
    """Deletes the expired rows (for the retention sweep); returns how many."""
    result = session.execute(
        delete(IdempotentRequest)
        .where(IdempotentRequest.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_app(session: Session, app_id: int) -> int:
    """Deletes every stored answer of an app (e.g. when one of its subjects is erased)."""
    result = session.execute(
        delete(IdempotentRequest).where(IdempotentRequest.app_id == app_id).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
