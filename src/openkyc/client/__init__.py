"""OpenKYC's Python client: ``Client(base_url, secret_id, secret_key)`` and ``AsyncClient``.

One method per API operation (see :mod:`openkyc.client._operations`), TC3-HMAC-SHA256 signing
(with a signed nonce, so a retry is never taken for a replay), retries on 429 and 503 after
``Retry-After``, an ``Idempotency-Key`` on every write (the same across its retries, so a write
is done once), a timeout, and errors raised as typed exceptions carrying ``code`` and
``request_id``::

    from openkyc.client import Client

    with Client("http://127.0.0.1:8080", secret_id, secret_key) as kyc:
        answer = kyc.verify_selfie(video=video_b64, image=photo_b64, mode="silent")
        print(answer["Result"], answer["sim"])

Imports nothing from the server side of ``openkyc``; needs only ``httpx``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from types import TracebackType
from typing import Any

import anyio
import httpx

from openkyc.client._core import (
    RETRY_STATUSES,
    SERVICE,
    AuthFailureError,
    FailedOperationError,
    InternalServerError,
    InvalidParameterError,
    OpenKYCAPIError,
    Prepared,
    RequestLimitExceededError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    Signer,
    UnauthorizedOperationError,
    error_for,
    prepare,
    retry_delay,
)
from openkyc.client._operations import OPERATIONS, Operations

__all__ = [
    "OPERATIONS",
    "AsyncClient",
    "AuthFailureError",
    "Client",
    "FailedOperationError",
    "InternalServerError",
    "InvalidParameterError",
    "OpenKYCAPIError",
    "RequestLimitExceededError",
    "ResourceNotFoundError",
    "ServiceUnavailableError",
    "UnauthorizedOperationError",
]

Json = dict[str, Any]


class _Base:
    def __init__(
        self,
        base_url: str,
        secret_id: str,
        secret_key: str,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_retry_delay: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = Signer(secret_id, secret_key)
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_delay = max_retry_delay

    def _headers(self, prepared: Prepared) -> dict[str, str]:
        headers = dict(prepared.extra_headers)
        if prepared.signed:
            headers.update(self.signer.headers(prepared.method, prepared.url, prepared.body, service=prepared.service))
        elif prepared.body:
            headers["Content-Type"] = "application/json"
        return headers

    @staticmethod
    def _json(response: httpx.Response) -> Json:
        body = response.json() if response.content else {}
        if "Response" in body and isinstance(body["Response"], dict):  # the Tencent-compatible endpoint
            inner: Json = body["Response"]
            if "Error" in inner:
                raise error_for(response.status_code, body, None)
            return inner
        return dict(body)

    @staticmethod
    def _error(response: httpx.Response) -> OpenKYCAPIError:
        try:
            body = response.json()
        except ValueError:
            body = None
        retry_after = response.headers.get("Retry-After")
        return error_for(response.status_code, body, float(retry_after) if retry_after else None)


class Client(_Base, Operations[Json, bytes]):
    """The synchronous client (one ``httpx.Client``; pass ``http=`` to supply your own)."""

    def __init__(
        self, base_url: str, secret_id: str, secret_key: str, *, http: httpx.Client | None = None, **options: Any
    ) -> None:
        super().__init__(base_url, secret_id, secret_key, **options)
        self._http = http or httpx.Client(timeout=self.timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, prepared: Prepared) -> httpx.Response:
        attempt = 0
        while True:
            response = self._http.request(
                prepared.method,
                prepared.url,
                content=prepared.body,
                headers=self._headers(prepared),
            )
            if response.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
                return response
            time.sleep(
                retry_delay(response.status_code, response.headers.get("Retry-After"), attempt, self.max_retry_delay)
            )
            attempt += 1

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        service: str = SERVICE,
    ) -> Json:
        prepared = prepare(
            self.base_url,
            method,
            path,
            json_body=body,
            query=query,
            idempotency_key=idempotency_key,
            service=service,
            extra_headers=headers,
        )
        response = self._send(prepared)
        if response.status_code >= 400:
            raise self._error(response)
        return self._json(response)

    def _call_raw(self, method: str, path: str, *, query: dict[str, Any] | None = None) -> bytes:
        response = self._send(prepare(self.base_url, method, path, query=query))
        if response.status_code >= 400:
            raise self._error(response)
        return response.content


class AsyncClient(_Base, Operations[Awaitable[Json], Awaitable[bytes]]):
    """The asynchronous client (one ``httpx.AsyncClient``; pass ``http=`` to supply your own)."""

    def __init__(
        self, base_url: str, secret_id: str, secret_key: str, *, http: httpx.AsyncClient | None = None, **options: Any
    ) -> None:
        super().__init__(base_url, secret_id, secret_key, **options)
        self._http = http or httpx.AsyncClient(timeout=self.timeout)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, prepared: Prepared) -> httpx.Response:
        attempt = 0
        while True:
            response = await self._http.request(
                prepared.method,
                prepared.url,
                content=prepared.body,
                headers=self._headers(prepared),
            )
            if response.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
                return response
            await anyio.sleep(
                retry_delay(response.status_code, response.headers.get("Retry-After"), attempt, self.max_retry_delay)
            )
            attempt += 1

    async def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        service: str = SERVICE,
    ) -> Json:
        prepared = prepare(
            self.base_url,
            method,
            path,
            json_body=body,
            query=query,
            idempotency_key=idempotency_key,
            service=service,
            extra_headers=headers,
        )
        response = await self._send(prepared)
        if response.status_code >= 400:
            raise self._error(response)
        return self._json(response)

    async def _call_raw(self, method: str, path: str, *, query: dict[str, Any] | None = None) -> bytes:
        response = await self._send(prepare(self.base_url, method, path, query=query))
        if response.status_code >= 400:
            raise self._error(response)
        return response.content
