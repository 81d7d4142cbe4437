"""Webhook notifications: a small signed JSON body, delivered with retries and backoff.

The body carries ids and the ``Result`` code only, never personal data (no names, ID numbers,
images, templates, scores, nor the customer's ``subject_id``): the receiver fetches the result
itself through the signed API with ``verification_id`` if it needs more. Every delivery is signed
with HMAC-SHA256 of the exact body bytes under the app's webhook secret::

    X-OpenKYC-Signature: sha256=<hex digest>
    X-OpenKYC-Delivery: <delivery id, the same on every retry; deduplicate on it>
    X-OpenKYC-Event: verification.result

The secret is derived from the keyring (HKDF of the oldest data key, with the app id in the info),
so every process derives the same one without storing it; ``openkyc webhooks secret --app-id N``
shows it to the customer. A 2xx answer is success; anything else (or no answer within
:data:`TIMEOUT_SECONDS`) is retried after each of :data:`BACKOFF_SECONDS`, then given up and logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from openkyc.privacy.crypto import Keyring

__all__ = [
    "BACKOFF_SECONDS",
    "SIGNATURE_HEADER",
    "WebhookDelivery",
    "WebhookFailed",
    "deliver",
    "result_delivery",
    "sign",
    "webhook_secret",
]

log = logging.getLogger("openkyc.jobs.webhooks")

SIGNATURE_HEADER = "X-OpenKYC-Signature"
DELIVERY_HEADER = "X-OpenKYC-Delivery"
EVENT_HEADER = "X-OpenKYC-Event"
RESULT_EVENT = "verification.result"
TIMEOUT_SECONDS = 10.0
BACKOFF_SECONDS: tuple[int, ...] = (10, 60, 300, 1800, 7200)  # five retries over about 2.5 hours
_SECRET_INFO = b"openkyc/webhook-signing-secret/v1/app:"


class WebhookFailed(Exception):
    """One delivery attempt failed (the queue retries it). Carries no URL and no body."""


@dataclass(frozen=True)
class WebhookDelivery:
    """What a webhook job carries: plain values only, so it survives a trip through Redis."""

    app_id: int
    url: str
    body: str
    delivery_id: str
    event: str = RESULT_EVENT

    def as_kwargs(self) -> dict[str, object]:
        return {
            "app_id": self.app_id,
            "url": self.url,
            "body": self.body,
            "delivery_id": self.delivery_id,
            "event": self.event,
        }


def result_delivery(
    *, app_id: int, url: str, verification_id: str, kind: str, result: str, created_at: datetime
) -> WebhookDelivery:
    """The notification that a verification result was stored. Typed fields: nothing else fits."""
    delivery_id = uuid.uuid4().hex
    body = {
        "event": RESULT_EVENT,
        "delivery_id": delivery_id,
        "app_id": app_id,
        "verification_id": verification_id,
        "kind": kind,
        "Result": result,
        "created_at": created_at.isoformat(),
    }
    return WebhookDelivery(app_id, url, json.dumps(body, separators=(",", ":"), sort_keys=True), delivery_id)


def webhook_secret(keyring: Keyring, app_id: int) -> str:
    """The app's signing secret (64 hex characters): stable across restarts, processes and data-key
    rotations. The HMAC key is this text's ASCII bytes, as receivers usually store it."""
    oldest = next(iter(keyring.keys.values()))
    info = _SECRET_INFO + str(app_id).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(oldest).hex()


def sign(secret: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode("ascii"), body, hashlib.sha256).hexdigest()


def deliver(keyring: Keyring, delivery: WebhookDelivery, *, timeout: float = TIMEOUT_SECONDS) -> int:
    """One attempt: POST the signed body; the status code on 2xx, :class:`WebhookFailed` otherwise."""
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OpenKYC-Webhook/1",
        SIGNATURE_HEADER: sign(webhook_secret(keyring, delivery.app_id), body),
        DELIVERY_HEADER: delivery.delivery_id,
        EVENT_HEADER: delivery.event,
    }
    try:
        response = httpx.post(delivery.url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        log.warning(
            "webhook delivery failed",
            extra={"app_id": delivery.app_id, "delivery_id": delivery.delivery_id, "error": type(exc).__name__},
        )
        raise WebhookFailed(f"no answer ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        log.warning(
            "webhook delivery refused",
            extra={"app_id": delivery.app_id, "delivery_id": delivery.delivery_id, "status": response.status_code},
        )
        raise WebhookFailed(f"answered {response.status_code}")
    log.info("webhook delivered", extra={"app_id": delivery.app_id, "delivery_id": delivery.delivery_id})
    return response.status_code
