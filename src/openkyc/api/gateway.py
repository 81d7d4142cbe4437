"""The ASGI layer every request passes first: RequestId, body limit, signature check, call record.

Order of work for one request:
1. a RequestId is made and put on ``scope["state"]`` and in the logging context;
2. the body is read up to ``max_body_bytes`` (a larger ``Content-Length`` is refused before reading);
   a NUL character in the path, the query or a JSON string, a JSON body that is not UTF-8 or nests
   too deep, is refused (:mod:`openkyc.api.inputs`), before any route or database sees it;
3. paths under ``/v1/`` (except ``/v1/health``) must carry a valid TC3-HMAC-SHA256 signature;
   the caller is put on ``scope["state"]["caller"]``;
4. the app runs with the buffered body; an exception no handler took is logged here, with its
   traceback (redacted) and the RequestId, and answered ``InternalError``;
5. a call record (action, app, status, error code, duration, client address; never payloads) is written.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError

from openkyc.accounts import service as accounts
from openkyc.accounts import signing
from openkyc.api import inputs
from openkyc.api.errors import envelope
from openkyc.errors import (
    InternalError,
    MissingAuthHeader,
    OpenKYCError,
    ReplayedRequest,
    RequestSizeLimitExceeded,
)
from openkyc.logs import request_id_var
from openkyc.runtime import Runtime
from openkyc.store.models.accounts import SeenSignature
from openkyc.store.models.diagnostics import CallRecord

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("openkyc.api")
PUBLIC_V1 = frozenset({"/v1/health"})


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

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            try:
                headers = _headers(scope)
                body = await self._read_body(headers, receive, runtime.settings.max_body_bytes)
                inputs.check_path(scope["path"])
                inputs.check_query(scope.get("query_string", b""))
                if inputs.is_json(next(iter(headers.get("content-type", [])), None)):
                    inputs.check_json_body(body)
                if needs_signature(scope["path"]):
                    state["caller"] = await anyio.to_thread.run_sync(self._authenticate, runtime, scope, headers, body)
            except OpenKYCError as error:
                state["error_code"] = error.error_code
                response = envelope(error, request_id)
                await response(scope, receive, send_wrapper)
                return
            try:
                await self.app(scope, _replay(body, receive), send_wrapper)
            except Exception as exc:
                state["error_code"] = InternalError.code
                log.error(
                    "unhandled error",
                    exc_info=exc,
                    extra={"exc_class": type(exc).__name__, "method": scope["method"], "route": _route_path(scope)},
                )
                if status["started"]:
                    raise  # the answer is already on its way: the server closes the connection
                await envelope(InternalError(), request_id)(scope, receive, send_wrapper)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            await anyio.to_thread.run_sync(self._record, runtime, scope, status["code"], duration_ms)
            request_id_var.reset(token)

    async def _read_body(self, headers: dict[str, list[str]], receive: Receive, limit: int) -> bytes:
        lengths = headers.get("content-length", [])
        if lengths and lengths[0].isdigit() and int(lengths[0]) > limit:
            raise RequestSizeLimitExceeded()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestSizeLimitExceeded()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _authenticate(
        self, runtime: Runtime, scope: Scope, headers: dict[str, list[str]], body: bytes
    ) -> accounts.Caller:
        parsed = signing.parse_authorization(_single(headers, "authorization"))
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
        try:
            with runtime.transaction() as session:
                session.add(SeenSignature(signature=parsed.signature, expires_at=expires))
                accounts.touch_credential(session, parsed.secret_id)
        except IntegrityError as exc:
            raise ReplayedRequest() from exc
        return caller

    def _record(self, runtime: Runtime, scope: Scope, status_code: int, duration_ms: float) -> None:
        state = scope.get("state", {})
        caller = state.get("caller")
        route = scope.get("route")
        action = getattr(route, "name", None) or "Unknown"
        try:
            with runtime.transaction() as session:
                session.add(
                    CallRecord(
                        request_id=state["request_id"],
                        app_id=caller.app_id if caller else None,
                        secret_id=caller.secret_id if caller else None,
                        action=action,
                        method=scope["method"],
                        route=_route_path(scope),
                        status_code=status_code,
                        error_code=state.get("error_code"),
                        result_code=state.get("result_code"),
                        billable=bool(state.get("billable", False)) and status_code < 400,
                        duration_ms=round(duration_ms, 3),
                        client_ip=(scope.get("client") or (None,))[0],
                        created_at=runtime.clock(),
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
