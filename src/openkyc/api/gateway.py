"""The ASGI layer every request passes first: RequestId, limits, body, signature, call record.

Order of work for one request:
1. a RequestId is made and put on ``scope["state"]`` and in the logging context; the client
   address is the socket peer, or from ``X-Forwarded-For`` when the peer is a trusted proxy;
2. ``/verify/`` pages (no credential) are limited per client address;
3. the body is read up to ``max_body_bytes`` (a larger ``Content-Length`` is refused before
   reading), within ``body_read_timeout_seconds`` (408 otherwise, and the buffer is dropped), and
   at most ``max_concurrent_uploads`` bodies are read at once (503 ``ServerBusy`` beyond);
   a NUL character in the path, the query or a JSON string, a JSON body that is not UTF-8 or nests
   too deep, is refused (:mod:`openkyc.api.inputs`), before any route or database sees it;
4. paths under ``/v1/`` (except ``/v1/health`` and ``/v1/health/ready``) must carry a valid TC3-HMAC-SHA256 signature;
   the caller is put on ``scope["state"]["caller"]``; then the app's rate and monthly quota are
   checked (429 ``RequestLimitExceeded`` with ``Retry-After``); a ``POST /`` (or to
   ``OPENKYC_TENCENT_PATH_PREFIX``) is a Tencent Cloud compatible call: signed for service
   ``faceid`` or ``ocr``, and every refusal is answered in Tencent's envelope with HTTP 200;
5. a signed write with an ``Idempotency-Key`` is claimed, or answered from its stored answer;
6. the app runs with the buffered body, with the request's ledger open
   (:mod:`openkyc.privacy.ledger`): the purpose gate's refusals wait there and are written to the
   audit log, each in its own transaction, once the route's transactions have ended and before
   the answer starts (so a refusal never waits on the request's own write lock);
7. a call record (action, app, status, error code, duration, client address; never payloads) is
   written, and a billable 2xx counts towards the app's monthly quota.
An exception no handler took is logged with its (redacted) traceback and the RequestId, and
answered ``InternalError``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError

from openkyc.accounts import service as accounts
from openkyc.accounts import signing
from openkyc.api import idempotency, inputs
from openkyc.api.clients import client_address
from openkyc.api.errors import envelope
from openkyc.api.tencent.envelope import TENCENT_SERVICES, is_tencent_call, tencent_envelope
from openkyc.errors import (
    InternalError,
    MissingAuthHeader,
    OpenKYCError,
    ReplayedRequest,
    RequestSizeLimitExceeded,
    RequestTimeout,
    ServerBusy,
)
from openkyc.logs import request_id_var
from openkyc.privacy import ledger
from openkyc.runtime import Runtime
from openkyc.settings import Settings
from openkyc.store.idempotency import fingerprint
from openkyc.store.models.accounts import SeenSignature
from openkyc.store.models.diagnostics import CallRecord
from openkyc.usage.limits import RequestLimits, billable_calls_since, make_storage

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("openkyc.api")
NONCE_HEADER = "x-tc-nonce"  # a signed nonce makes every request unique, so a repeat is a replay
PUBLIC_V1 = frozenset({"/v1/health", "/v1/health/ready"})
CLIENT_CLOSED = 499  # recorded (never sent) when the client goes away before its body arrived


class ClientDisconnected(Exception):
    """The client closed the connection while its body was being read."""


class UploadSlots:
    """How many request bodies are being read at once; beyond the cap, refuse at once."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self.in_use >= self.capacity:
                return False
            self.in_use += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.in_use -= 1


def request_limits(runtime: Runtime) -> RequestLimits:
    """The deployment's request counters (Redis when configured), built once per runtime."""

    def build() -> RequestLimits:
        settings = runtime.settings

        def count_billable(app_id: int, since: datetime) -> int:
            with runtime.transaction() as session:
                return billable_calls_since(session, app_id, since)

        return RequestLimits(
            make_storage(settings.redis_url),
            count_billable=count_billable,
            default_qps=settings.default_qps_limit,
            default_quota=settings.default_monthly_quota,
            verify_rate=settings.verify_rate_limit,
        )

    limits: RequestLimits = runtime.component("request_limits", build)
    return limits


def _has_body(headers: dict[str, list[str]]) -> bool:
    lengths = headers.get("content-length", [])
    if lengths:
        return not (lengths[0].isdigit() and int(lengths[0]) == 0)
    return "transfer-encoding" in headers


def needs_signature(path: str) -> bool:
    return path.startswith("/v1/") and path not in PUBLIC_V1


def _headers(scope: Scope) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for raw_name, raw_value in scope.get("headers", []):
        headers.setdefault(raw_name.decode("latin-1").lower(), []).append(raw_value.decode("latin-1"))
    return headers


def _single(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name, [])
    if len(values) != 1:
        raise MissingAuthHeader()
    return values[0]


class Gateway:
    def __init__(self, app: ASGIApp, runtime_of: Callable[[], Runtime]) -> None:
        self.app = app
        self.runtime_of = runtime_of
        self._uploads: UploadSlots | None = None

    def _upload_slots(self, settings: Settings) -> UploadSlots:
        if self._uploads is None:
            self._uploads = UploadSlots(settings.max_concurrent_uploads)
        return self._uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime = self.runtime_of()
        request_id = str(uuid.uuid4())
        token = request_id_var.set(request_id)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500, "started": False}
        opened = ledger.open_ledger(f"{scope['method']} {scope['path']}")
        request_ledger = opened.__enter__()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                if request_ledger.pending:  # refusals: audited before the answer leaves
                    await anyio.to_thread.run_sync(self._flush_refusals, request_ledger)
                status["code"] = message["status"]
                status["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        tencent = is_tencent_call(scope["method"], scope["path"], runtime.settings.tencent_path_prefix)

        def refusal(error: OpenKYCError) -> Any:
            return tencent_envelope(error, request_id) if tencent else envelope(error, request_id)

        try:
            claim: idempotency.Claim | None = None
            body_read = False
            try:
                headers = _headers(scope)
                settings = runtime.settings
                peer = (scope.get("client") or (None,))[0]
                state["client_ip"] = client_address(peer, headers.get("x-forwarded-for", []), settings.trusted_proxies)
                if scope["path"].startswith("/verify/"):
                    await anyio.to_thread.run_sync(request_limits(runtime).check_address, state["client_ip"])
                body = await self._read_body(headers, receive, settings)
                body_read = True
                inputs.check_path(scope["path"])
                inputs.check_query(scope.get("query_string", b""))
                if inputs.is_json(next(iter(headers.get("content-type", [])), None)):
                    inputs.check_json_body(body)
                if tencent or needs_signature(scope["path"]):
                    services = TENCENT_SERVICES if tencent else frozenset({signing.SERVICE})
                    caller = await anyio.to_thread.run_sync(self._admit, runtime, scope, headers, body, services)
                    key = idempotency.requested_key(scope["method"], headers)
                    if key is not None:
                        claim = idempotency.Claim(runtime, caller.app_id, key, idempotency.label_for(scope))
                        query = scope.get("query_string", b"").decode("latin-1")
                        answer = await claim.acquire(fingerprint(scope["method"], scope["path"], query, body))
                        if answer is not None:
                            state["action"] = "IdempotentReplay"
                            await idempotency.replay(answer, send_wrapper)
                            return
            except ClientDisconnected:
                status["code"] = CLIENT_CLOSED
                return
            except OpenKYCError as error:
                state["error_code"] = error.error_code
                response = refusal(error)
                if not body_read:
                    response.headers["Connection"] = "close"  # the rest of the body is never read
                await response(scope, receive, send_wrapper)
                return
            try:
                if claim is None:
                    await self.app(scope, _replay(body, receive), send_wrapper)
                else:
                    await self._run_claimed(claim, scope, body, receive, send_wrapper)
            except Exception as exc:
                state["error_code"] = InternalError.code
                log.error(
                    "unhandled error",
                    exc_info=exc,
                    extra={"exc_class": type(exc).__name__, "method": scope["method"], "route": _route_path(scope)},
                )
                if status["started"]:
                    raise  # the answer is already on its way: the server closes the connection
                await refusal(InternalError())(scope, receive, send_wrapper)
        finally:
            if request_ledger.pending:
                await anyio.to_thread.run_sync(self._flush_refusals, request_ledger)
            opened.__exit__(None, None, None)
            duration_ms = (time.perf_counter() - started) * 1000
            await anyio.to_thread.run_sync(self._record, runtime, scope, status["code"], duration_ms)
            request_id_var.reset(token)

    async def _run_claimed(
        self, claim: idempotency.Claim, scope: Scope, body: bytes, receive: Receive, send: Send
    ) -> None:
        """Runs the app with its answer held back, stores a 2xx answer, then sends it."""
        captured = idempotency.Captured()
        try:
            await self.app(scope, _replay(body, receive), captured.send)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await claim.release()
            raise
        await claim.finish(captured)
        await captured.forward(send)

    async def _read_body(self, headers: dict[str, list[str]], receive: Receive, settings: Settings) -> bytes:
        limit = settings.max_body_bytes
        lengths = headers.get("content-length", [])
        if lengths and lengths[0].isdigit() and int(lengths[0]) > limit:
            raise RequestSizeLimitExceeded()
        slots = self._upload_slots(settings) if _has_body(headers) else None
        if slots is not None and not slots.try_acquire():
            raise ServerBusy("Too many uploads are being received; retry later.", retry_after=1)
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(settings.body_read_timeout_seconds):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ClientDisconnected()
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise RequestSizeLimitExceeded()
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError as exc:
            chunks.clear()
            raise RequestTimeout() from exc
        finally:
            if slots is not None:
                slots.release()
        return b"".join(chunks)

    def _admit(
        self, runtime: Runtime, scope: Scope, headers: dict[str, list[str]], body: bytes, services: frozenset[str]
    ) -> accounts.Caller:
        """Authenticates the request, then checks the app's rate and monthly quota."""
        caller = self._authenticate(runtime, scope, headers, body, services)
        scope["state"]["caller"] = caller
        request_limits(runtime).check_app(caller.app_id, caller.qps_limit, caller.monthly_quota, runtime.clock())
        return caller

    def _authenticate(
        self, runtime: Runtime, scope: Scope, headers: dict[str, list[str]], body: bytes, services: frozenset[str]
    ) -> accounts.Caller:
        parsed = signing.parse_authorization(_single(headers, "authorization"), services)
        scope["state"]["signed_service"] = parsed.service
        timestamp = signing.parse_timestamp(
            _single(headers, "x-tc-timestamp"),
            now=runtime.clock().timestamp(),
            window_seconds=runtime.settings.signature_window_seconds,
        )
        with runtime.transaction() as session:
            caller, secret_key = accounts.resolve_secret(session, runtime.keyring, parsed.secret_id)
        signing.verify(
            parsed,
            secret_key,
            timestamp=timestamp,
            method=scope["method"],
            path=scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={name: values[0] for name, values in headers.items()},
            body=body,
        )
        expires = datetime.fromtimestamp(timestamp, tz=UTC) + timedelta(
            seconds=runtime.settings.signature_window_seconds + 60
        )
        seen: str | None = parsed.signature
        if parsed.service != signing.SERVICE:
            if NONCE_HEADER not in parsed.signed_headers:
                # Tencent's SDKs sign no nonce, and Tencent answers the same call sent twice within
                # the window (a result polled twice in a second, two end users' tokens applied for
                # with the same parameters at once): refusing it would break unchanged integrations
                seen = None
            else:
                # Tencent's signature does not cover X-TC-Action: two actions with the same body in
                # the same second sign alike, and are two calls, not a replay
                action = headers.get("x-tc-action", [""])[0]
                seen = hashlib.sha256(f"{parsed.signature}:{action}".encode()).hexdigest()
        try:
            with runtime.transaction() as session:
                if seen is not None:
                    session.add(SeenSignature(signature=seen, expires_at=expires))
                accounts.touch_credential(session, parsed.secret_id)
        except IntegrityError as exc:
            raise ReplayedRequest() from exc
        return caller

    @staticmethod
    def _flush_refusals(request_ledger: ledger.Ledger) -> None:
        try:
            request_ledger.flush_refusals()
        except Exception:  # the refusal itself stands; a lost audit record is logged loudly
            log.exception("gate refusal not audited")

    def _record(self, runtime: Runtime, scope: Scope, status_code: int, duration_ms: float) -> None:
        state = scope.get("state", {})
        caller = state.get("caller")
        route = scope.get("route")
        action = state.get("action") or getattr(route, "name", None) or "Unknown"
        billable = bool(state.get("billable", False)) and status_code < 400
        # signed calls bill the caller's app; a hosted page's calls bill the app of its session
        app_id = caller.app_id if caller is not None else state.get("app_id")
        now = runtime.clock()
        if billable and app_id is not None:
            request_limits(runtime).record_billable(app_id, now)
        try:
            with runtime.transaction() as session:
                session.add(
                    CallRecord(
                        request_id=state["request_id"],
                        app_id=app_id,
                        secret_id=caller.secret_id if caller else None,
                        action=action,
                        method=scope["method"],
                        route=_route_path(scope),
                        status_code=status_code,
                        error_code=state.get("error_code"),
                        result_code=state.get("result_code"),
                        billable=billable,
                        duration_ms=round(duration_ms, 3),
                        client_ip=state.get("client_ip", (scope.get("client") or (None,))[0]),
                        created_at=now,
                    )
                )
        except Exception:  # a failed call record must never fail the call
            log.exception("call record not written")
        metrics = runtime.components.get("metrics")
        if metrics is not None:
            metrics.observe(action, status_code, duration_ms / 1000, state.get("error_code"))
        log.info(
            "request",
            extra={"action": action, "status": status_code, "duration_ms": round(duration_ms, 1)},
        )


def _route_path(scope: Scope) -> str:
    """The matched route's template (``/v1/rules/{rule_id}``), never the concrete path with its ids."""
    return str(getattr(scope.get("route"), "path", None) or "unmatched")


def _replay(body: bytes, original: Receive) -> Receive:
    """Hands the buffered body to the app once, then passes on the server's messages."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
