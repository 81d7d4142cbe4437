"""``Idempotency-Key`` on signed writes: the first 2xx answer is kept and sent again to retries.

A signed ``POST``, ``PUT`` or ``DELETE`` with an ``Idempotency-Key`` header (1 to 255 visible
ASCII characters) is claimed for its app before the route runs (see ``openkyc.store.idempotency``).
Its answer is held back until the route has finished and, when it is a 2xx, stored (encrypted)
before it is sent, so a retry that follows the answer always finds it. A retry gets the stored
status and body with ``Idempotent-Replayed: true`` and the route does not run again.

Stored answers expire after ``OPENKYC_IDEMPOTENCY_TTL_SECONDS``, but never later than the data-
processing policy keeps face images (an answer may hold one, the best frame of ``/v1/liveness``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError

from openkyc.errors import IdempotencyKeyInProgress, InvalidParameterValue
from openkyc.privacy.vocabulary import RetentionKind
from openkyc.runtime import Runtime
from openkyc.store import idempotency as store

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("openkyc.api")
METHODS = frozenset({"POST", "PUT", "DELETE"})
HEADER = "idempotency-key"


def requested_key(method: str, headers: dict[str, list[str]]) -> str | None:
    """The request's key, or ``None`` when the request is not an idempotent write."""
    values = headers.get(HEADER)
    if method not in METHODS or not values:
        return None
    key = values[0].strip()
    if len(values) != 1 or not 1 <= len(key) <= 255 or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidParameterValue(
            "Idempotency-Key must be one header of 1 to 255 visible ASCII characters.",
            code="InvalidParameterValue.IdempotencyKey",
        )
    return key


def ttl(runtime: Runtime) -> timedelta:
    configured = timedelta(seconds=runtime.settings.idempotency_ttl_seconds)
    images = timedelta(hours=runtime.gate.policy.max_retention_hours(RetentionKind.FACE_IMAGE))
    return min(configured, images)


class Claim:
    """One claimed key: replays a stored answer or runs the request and keeps its 2xx answer."""

    def __init__(self, runtime: Runtime, app_id: int, key: str) -> None:
        self.runtime = runtime
        self.app_id = app_id
        self.key = key

    async def acquire(self, request_hash: str) -> store.StoredAnswer | None:
        return await anyio.to_thread.run_sync(self._acquire, request_hash)

    def _acquire(self, request_hash: str) -> store.StoredAnswer | None:
        runtime = self.runtime
        for attempt in range(2):
            try:
                with runtime.transaction() as session:
                    return store.claim(
                        session, runtime.keyring, self.app_id, self.key, request_hash, runtime.clock(), ttl(runtime)
                    )
            except IntegrityError:
                if attempt:
                    break  # lost the insert race twice: the other request holds it
        raise IdempotencyKeyInProgress(retry_after=1)

    async def finish(self, captured: Captured) -> None:
        """Keeps a 2xx answer; releases the key otherwise. A failure here never loses the answer."""
        try:
            await anyio.to_thread.run_sync(self._finish, captured)
        except Exception:
            log.exception("idempotent answer not stored")
            await self.release()

    def _finish(self, captured: Captured) -> None:
        with self.runtime.transaction() as session:
            if captured.complete and 200 <= captured.status < 300:
                store.complete(
                    session,
                    self.runtime.keyring,
                    self.app_id,
                    self.key,
                    captured.status,
                    captured.header("content-type"),
                    captured.body,
                )
            else:
                store.release(session, self.app_id, self.key)

    async def release(self) -> None:
        def run() -> None:
            with self.runtime.transaction() as session:
                store.release(session, self.app_id, self.key)

        try:
            await anyio.to_thread.run_sync(run)
        except Exception:
            log.exception("idempotency key not released")


class Captured:
    """An answer held back (start message and body) until it is stored."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.complete = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True

    @property
    def status(self) -> int:
        return int(self.start["status"]) if self.start else 500

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def header(self, name: str) -> str | None:
        for raw_name, raw_value in (self.start or {}).get("headers", []):
            if raw_name.decode("latin-1").lower() == name:
                return str(raw_value.decode("latin-1"))
        return None

    async def forward(self, send: Send) -> None:
        if self.start is None:
            return
        await send(self.start)
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


async def replay(answer: store.StoredAnswer, send: Send) -> None:
    headers = [
        (b"content-length", str(len(answer.body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    if answer.content_type:
        headers.append((b"content-type", answer.content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})
