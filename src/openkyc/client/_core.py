"""Signing, errors and the request loop shared by :class:`Client` and :class:`AsyncClient`.

Imports nothing from the server side of ``openkyc``: this package can be copied into any project
that has ``httpx``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "openkyc"
RETRY_STATUSES = frozenset({429, 503})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class OpenKYCAPIError(Exception):
    """An error answer: ``code`` (stable, e.g. ``AuthFailure.SignatureFailure``), ``message``,
    ``request_id`` (quote it when asking for help) and the HTTP ``status_code``.

    Hierarchy (by the code's first part)::

        OpenKYCAPIError
        ├── AuthFailureError            AuthFailure.*            401
        ├── InvalidParameterError       InvalidParameter*, MissingParameter   400
        ├── UnauthorizedOperationError  UnauthorizedOperation.*  403
        ├── ResourceNotFoundError       ResourceNotFound.*       404
        ├── FailedOperationError        FailedOperation.*        409/422
        ├── RequestLimitExceededError   RequestLimitExceeded*    429 (retried first)
        ├── ServiceUnavailableError     ResourceUnavailable.*    503 (retried first)
        └── InternalServerError         InternalError*           5xx
    """

    def __init__(
        self, code: str, message: str, request_id: str | None, status_code: int, retry_after: float | None = None
    ) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        self.status_code = status_code
        self.retry_after = retry_after
        super().__init__(f"{code}: {message} (RequestId {request_id})")


class AuthFailureError(OpenKYCAPIError):
    pass


class InvalidParameterError(OpenKYCAPIError):
    pass


class UnauthorizedOperationError(OpenKYCAPIError):
    pass


class ResourceNotFoundError(OpenKYCAPIError):
    pass


class FailedOperationError(OpenKYCAPIError):
    pass


class RequestLimitExceededError(OpenKYCAPIError):
    pass


class ServiceUnavailableError(OpenKYCAPIError):
    pass


class InternalServerError(OpenKYCAPIError):
    pass


_BY_PREFIX: tuple[tuple[str, type[OpenKYCAPIError]], ...] = (
    ("AuthFailure", AuthFailureError),
    ("InvalidParameter", InvalidParameterError),
    ("MissingParameter", InvalidParameterError),
    ("UnknownParameter", InvalidParameterError),
    ("UnauthorizedOperation", UnauthorizedOperationError),
    ("ResourceNotFound", ResourceNotFoundError),
    ("FailedOperation", FailedOperationError),
    ("RequestLimitExceeded", RequestLimitExceededError),
    ("ResourceUnavailable", ServiceUnavailableError),
    ("InternalError", InternalServerError),
)


def error_for(status_code: int, body: Any, retry_after: float | None) -> OpenKYCAPIError:
    """The typed error of an error answer (the native envelope or Tencent's)."""
    envelope = body.get("Response", body) if isinstance(body, dict) else {}
    error = envelope.get("Error") if isinstance(envelope, dict) else None
    if not isinstance(error, dict):
        return InternalServerError("InternalError", f"HTTP {status_code} without an error envelope", None, status_code)
    code = str(error.get("Code", "InternalError"))
    cls = next((c for prefix, c in _BY_PREFIX if code.startswith(prefix)), OpenKYCAPIError)
    return cls(code, str(error.get("Message", "")), envelope.get("RequestId"), status_code, retry_after)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Signer:
    """TC3-HMAC-SHA256 as Tencent Cloud API v3 signs; service ``openkyc`` for the native API."""

    secret_id: str
    secret_key: str

    def headers(
        self,
        method: str,
        url: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        service: str = SERVICE,
        timestamp: int | None = None,
    ) -> dict[str, str]:
        parts = urlsplit(url)
        host = parts.netloc
        ts = int(time.time()) if timestamp is None else timestamp
        nonce = os.urandom(8).hex()  # signed: a retry in the same second is not taken for a replay
        signed = {"content-type": content_type, "host": host, "x-tc-nonce": nonce}
        names = sorted(signed)
        canonical = "\n".join(
            [
                method.upper(),
                parts.path or "/",
                parts.query,
                "".join(f"{name}:{signed[name].strip().lower()}\n" for name in names),
                ";".join(names),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        date = datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")
        scope = f"{date}/{service}/tc3_request"
        to_sign = "\n".join([ALGORITHM, str(ts), scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = _hmac(_hmac(_hmac(("TC3" + self.secret_key).encode(), date), service), "tc3_request")
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            "Authorization": f"{ALGORITHM} Credential={self.secret_id}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}",
            "X-TC-Timestamp": str(ts),
            "X-TC-Nonce": nonce,
            "Content-Type": content_type,
        }


@dataclass(frozen=True)
class Prepared:
    method: str
    url: str
    body: bytes
    signed: bool
    service: str
    extra_headers: dict[str, str]


def prepare(
    base_url: str,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    query: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    service: str = SERVICE,
    extra_headers: dict[str, str] | None = None,
) -> Prepared:
    """What to send; a write gets an ``Idempotency-Key`` (kept across retries) unless one is given."""
    items = {k: v for k, v in (query or {}).items() if v is not None}
    url = base_url.rstrip("/") + path + (f"?{urlencode(items, doseq=True)}" if items else "")
    body = b"" if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
    headers = dict(extra_headers or {})
    signed = (path.startswith("/v1/") and path not in {"/v1/health", "/v1/health/ready"}) or path == "/"
    if signed and method in WRITE_METHODS and path != "/":
        headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    return Prepared(method, url, body, signed, service, headers)


def retry_delay(status_code: int, retry_after: str | None, attempt: int, max_delay: float) -> float:
    """``Retry-After`` seconds when sent, else exponential backoff; capped at ``max_delay``."""
    try:
        delay = float(retry_after) if retry_after is not None else 0.5 * 2**attempt
    except ValueError:
        delay = 0.5 * 2**attempt
    return max(0.0, min(delay, max_delay))
