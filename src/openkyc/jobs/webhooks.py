"""Webhook notifications: an outbox row per event, delivered signed, with retries and a log.

Events (``X-OpenKYC-Event``): ``verification.result`` when a verification result is stored, and
``session.finished`` when a hosted session ends (passed, or out of attempts). The body carries ids
and result codes only, never personal data (no names, ID numbers, images, templates, scores, nor
the customer's ``subject_id``): the receiver fetches more through the signed API if it needs it.

Outbox: the event's row (:class:`~openkyc.store.models.webhooks.WebhookDeliveryRow`, state
``pending``) is written in the same transaction as the result it announces; the job is enqueued
after that commit and reads the row. A process that dies between the commit and the enqueue
loses nothing: :func:`requeue_stale` (run at start-up and by ``openkyc worker``) enqueues rows still
pending past their due time. Delivery is at least once: receivers deduplicate on the delivery id.

Signature (docs/webhooks.md has a verification snippet)::

    X-OpenKYC-Timestamp: <unix seconds of this attempt>
    X-OpenKYC-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body, under the app's secret>
    X-OpenKYC-Delivery: <delivery id, the same on every retry>
    X-OpenKYC-Event: verification.result | session.finished

Receivers refuse a timestamp more than :data:`REPLAY_WINDOW_SECONDS` from their clock. The secret
is derived from the keyring (HKDF of the oldest data key, with the app id in the info), so every
process derives the same one without storing it; ``openkyc webhooks secret --app-id N`` shows it.

Each attempt updates the row: ``attempts``, ``last_status`` (the HTTP status, ``None`` without an
answer), ``last_error`` (``answered 500``, ``no answer (ConnectTimeout)``; never a body), and
``next_attempt_at`` from the backoff; after the last retry the state is ``failed``. A 2xx answer
makes it ``delivered``. :func:`redeliver` puts any delivery back to ``pending`` for a new round.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openkyc.errors import ResourceNotFound
from openkyc.privacy.crypto import Keyring
from openkyc.store.models.webhooks import WebhookDeliveryRow

__all__ = [
    "BACKOFF_SECONDS",
    "REPLAY_WINDOW_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookFailed",
    "deliver",
    "record",
    "redeliver",
    "requeue_stale",
    "result_payload",
    "session_payload",
    "sign",
    "verify_signature",
    "webhook_secret",
]

log = logging.getLogger("openkyc.jobs.webhooks")

SIGNATURE_HEADER = "X-OpenKYC-Signature"
TIMESTAMP_HEADER = "X-OpenKYC-Timestamp"
DELIVERY_HEADER = "X-OpenKYC-Delivery"
EVENT_HEADER = "X-OpenKYC-Event"
RESULT_EVENT = "verification.result"
SESSION_EVENT = "session.finished"
EVENTS = (RESULT_EVENT, SESSION_EVENT)
TIMEOUT_SECONDS = 10.0
REPLAY_WINDOW_SECONDS = 300
BACKOFF_SECONDS: tuple[int, ...] = (10, 60, 300, 1800, 7200)  # five retries over about 2.5 hours
STALE_AFTER_SECONDS = 300  # a pending row this far past its due time lost its job: enqueue it again
_SECRET_INFO = b"openkyc/webhook-signing-secret/v1/app:"

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class WebhookFailed(Exception):
    """One delivery attempt failed (the queue retries it). Carries no URL and no body."""


# --- payloads: typed fields only, nothing else fits ------------------------------------------------


def result_payload(*, verification_id: str, kind: str, result: str, created_at: datetime) -> dict[str, Any]:
    return {"verification_id": verification_id, "kind": kind, "Result": result, "created_at": created_at.isoformat()}


def session_payload(
    *, biz_token: str, state: str, verification_id: str | None, result: str | None, attempts: int, finished_at: datetime
) -> dict[str, Any]:
    return {
        "biz_token": biz_token,  # the customer's own handle for the session
        "state": state,
        "verification_id": verification_id,
        "Result": result,
        "attempts": attempts,
        "finished_at": finished_at.isoformat(),
    }


def record(session: Session, *, app_id: int, url: str, event: str, payload: dict[str, Any], now: datetime) -> str:
    """The outbox row for one event, in the caller's transaction; returns the delivery id."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    delivery_id = uuid.uuid4().hex
    body = {"event": event, "delivery_id": delivery_id, "app_id": app_id, **payload}
    session.add(
        WebhookDeliveryRow(
            id=delivery_id,
            app_id=app_id,
            event=event,
            url=url,
            body=json.dumps(body, separators=(",", ":"), sort_keys=True),
            state=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            history=[],
        )
    )
    session.flush()
    return delivery_id


# --- signing --------------------------------------------------------------------------------------


def webhook_secret(keyring: Keyring, app_id: int) -> str:
    """The app's signing secret (64 hex characters): stable across restarts, processes and data-key
    rotations. The HMAC key is this text's ASCII bytes, as receivers usually store it."""
    oldest = next(iter(keyring.keys.values()))
    info = _SECRET_INFO + str(app_id).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(oldest).hex()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("ascii"), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    window: int = REPLAY_WINDOW_SECONDS,
) -> bool:
    """What a receiver does: the timestamp within ``window`` seconds and the signature equal."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > window:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)


# --- delivery -------------------------------------------------------------------------------------

Transaction = Callable[[], AbstractContextManager[Session]]


def deliver(
    transaction: Transaction,
    keyring: Keyring,
    clock: Callable[[], datetime],
    delivery_id: str,
    *,
    base: int = 0,
    schedule: Sequence[int] = BACKOFF_SECONDS,
    timeout: float = TIMEOUT_SECONDS,
) -> int | None:
    """One attempt of a pending delivery, logged on its row. Returns the 2xx status, ``None`` when
    there is nothing to do (delivered already, or gone); raises :class:`WebhookFailed` otherwise so
    the queue retries. ``base`` is the row's attempt count when this round was enqueued."""
    with transaction() as session:
        row = session.get(WebhookDeliveryRow, delivery_id)
        if row is None or row.state != PENDING:
            return None
        app_id, url, body, event = row.app_id, row.url, row.body.encode(), row.event
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OpenKYC-Webhook/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(webhook_secret(keyring, app_id), timestamp, body),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
    }
    status: int | None = None
    error: str | None = None
    try:  # no transaction is open while the receiver answers
        response = httpx.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
        status = response.status_code
        if not 200 <= status < 300:
            error = f"answered {status}"
    except httpx.HTTPError as exc:
        error = f"no answer ({type(exc).__name__})"
    now = clock()
    with transaction() as session:
        row = session.get(WebhookDeliveryRow, delivery_id)
        if row is None:
            return None
        row.attempts += 1
        row.last_status = status
        row.last_error = error
        row.history = [*row.history, {"at": now.isoformat(), "status": status, "error": error}][-20:]
        if error is None:
            row.state, row.delivered_at, row.next_attempt_at = DELIVERED, now, None
        else:
            done = row.attempts - base  # attempts made in this round
            if done > len(schedule):
                row.state, row.next_attempt_at = FAILED, None
            else:
                row.next_attempt_at = now + timedelta(seconds=schedule[done - 1])
    extra = {"app_id": app_id, "delivery_id": delivery_id, "status": status}
    if error is None:
        log.info("webhook delivered", extra=extra)
        return status
    log.warning("webhook delivery failed", extra={**extra, "error": error.split(" (")[0]})
    raise WebhookFailed(error)


def redeliver(session: Session, app_id: int, delivery_id: str, now: datetime) -> WebhookDeliveryRow:
    """Puts a delivery of ``app_id`` back to ``pending`` for a new round (the caller enqueues it after
    the commit, with ``base`` = its attempts so far)."""
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None or row.app_id != app_id:
        raise ResourceNotFound("The webhook delivery does not exist.", code="ResourceNotFound.WebhookDelivery")
    row.state = PENDING
    row.next_attempt_at = now
    session.flush()
    return row


def stale(session: Session, now: datetime, *, older_than: int = STALE_AFTER_SECONDS, limit: int = 500) -> list[Any]:
    """Pending deliveries whose job was lost (``(id, attempts)``), claimed by moving their due time on,
    so two processes starting at once do not both enqueue them."""
    cutoff = now - timedelta(seconds=older_than)
    rows = session.execute(
        select(WebhookDeliveryRow.id, WebhookDeliveryRow.attempts)
        .where(WebhookDeliveryRow.state == PENDING, WebhookDeliveryRow.next_attempt_at < cutoff)
        .limit(limit)
    ).all()
    claimed = []
    for delivery_id, attempts in rows:
        changed = session.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.id == delivery_id,
                WebhookDeliveryRow.state == PENDING,
                WebhookDeliveryRow.next_attempt_at < cutoff,
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(changed, "rowcount", 0):
            claimed.append((delivery_id, attempts))
    return claimed


def requeue_stale(transaction: Transaction, clock: Callable[[], datetime], enqueue: Callable[[str, int], None]) -> int:
    """Enqueues the deliveries whose job was lost (the outbox's recovery); returns how many."""
    with transaction() as session:
        claimed = stale(session, clock())
    for delivery_id, attempts in claimed:
        enqueue(delivery_id, attempts)
    if claimed:
        log.info("webhook deliveries enqueued again", extra={"count": len(claimed)})
    return len(claimed)
