"""TC3-HMAC-SHA256 request signing, exactly as Tencent Cloud API v3 signs, with service ``openkyc``.

Any client that has a Tencent Cloud v3 signer works once it uses service name ``openkyc``, the
request path as the canonical URI, and signs ``content-type;host``::

    CanonicalRequest = METHOD \\n URI \\n QUERY \\n "content-type:..\\nhost:..\\n" \\n SignedHeaders
                       \\n hex(sha256(body))
    StringToSign     = "TC3-HMAC-SHA256" \\n timestamp \\n "YYYY-MM-DD/openkyc/tc3_request"
                       \\n hex(sha256(CanonicalRequest))
    key              = HMAC(HMAC(HMAC("TC3" + SecretKey, date), "openkyc"), "tc3_request")
    Authorization    = TC3-HMAC-SHA256 Credential=SecretId/date/openkyc/tc3_request,
                       SignedHeaders=content-type;host, Signature=hex(HMAC(key, StringToSign))
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from openkyc.errors import InvalidAuthorization, SignatureExpire, SignatureFailure

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "openkyc"
REQUIRED_SIGNED_HEADERS = ("content-type", "host")

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=(?P<secret_id>[^/\s,]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<service>[^/\s,]+)/tc3_request,\s*SignedHeaders=(?P<headers>[a-z0-9\-;]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class ParsedAuthorization:
    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
    *,
    lower_values: bool = True,
) -> str:
    """The canonical request. Header values are lower-cased, as Tencent's documentation says;
    ``lower_values=False`` gives the raw trimmed values that Tencent's own SDKs sign."""
    values = {name.lower(): value.strip() for name, value in headers.items()}
    canonical_headers = "".join(
        f"{name}:{values.get(name, '').lower() if lower_values else values.get(name, '')}\n" for name in signed_headers
    )
    return "\n".join(
        [
            method.upper(),
            path or "/",
            query,
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )


def date_of(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")


def signature(secret_key: str, timestamp: int, canonical: str, service: str = SERVICE) -> str:
    date = date_of(timestamp)
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_request(
    secret_id: str,
    secret_key: str,
    *,
    method: str,
    path: str,
    query: str = "",
    host: str,
    content_type: str = "application/json",
    body: bytes = b"",
    timestamp: int,
    extra_signed_headers: Mapping[str, str] | None = None,
    service: str = SERVICE,
) -> dict[str, str]:
    """The headers a client sends: ``Authorization``, ``X-TC-Timestamp``, ``Content-Type``, ``Host``.

    ``extra_signed_headers`` (for example ``X-TC-Nonce``) are sent and signed too; a nonce lets a
    client send the same request twice within one second without it being taken for a replay.
    ``service``: ``openkyc`` for the native API, ``faceid`` or ``ocr`` for the Tencent-compatible ``POST /``.
    """
    headers = {"content-type": content_type, "host": host}
    extra = {name.lower(): value for name, value in (extra_signed_headers or {}).items()}
    headers.update(extra)
    signed = tuple(sorted(headers))
    canonical = canonical_request(method, path, query, headers, signed, body)
    sig = signature(secret_key, timestamp, canonical, service)
    authorization = (
        f"{ALGORITHM} Credential={secret_id}/{date_of(timestamp)}/{service}/tc3_request, "
        f"SignedHeaders={';'.join(signed)}, Signature={sig}"
    )
    result = {
        "Authorization": authorization,
        "X-TC-Timestamp": str(timestamp),
        "Content-Type": content_type,
        "Host": host,
    }
    result.update(dict((extra_signed_headers or {}).items()))
    return result


def parse_authorization(value: str, services: frozenset[str] = frozenset({SERVICE})) -> ParsedAuthorization:
    """The parsed ``Authorization`` header; its credential scope must name one of ``services``
    (``openkyc`` for the native API; ``faceid``/``ocr`` for the Tencent-compatible endpoint)."""
    match = _AUTH_RE.match(value.strip())
    if match is None:
        raise InvalidAuthorization()
    headers = tuple(match["headers"].split(";"))
    if any(name not in headers for name in REQUIRED_SIGNED_HEADERS):
        raise InvalidAuthorization("SignedHeaders must include content-type and host.")
    if match["service"] not in services:
        names = " or ".join(f"'{name}'" for name in sorted(services))
        raise InvalidAuthorization(f"The credential scope must name service {names}.")
    return ParsedAuthorization(
        secret_id=match["secret_id"],
        date=match["date"],
        service=match["service"],
        signed_headers=headers,
        signature=match["signature"],
    )


def parse_timestamp(value: str, *, now: float, window_seconds: int) -> int:
    """The request timestamp; refuses one more than ``window_seconds`` from ``now``."""
    if not value.isdigit() or len(value) > 12:
        raise InvalidAuthorization("X-TC-Timestamp must be a Unix time in seconds.")
    timestamp = int(value)
    if abs(now - timestamp) > window_seconds:
        raise SignatureExpire()
    return timestamp


def verify(
    parsed: ParsedAuthorization,
    secret_key: str,
    *,
    timestamp: int,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> None:
    """Raises ``SignatureFailure`` unless the signature matches (constant-time comparison)."""
    if parsed.date != date_of(timestamp):
        raise SignatureFailure("The credential scope date does not match X-TC-Timestamp.")
    matched = False
    for lower_values in (True, False):
        canonical = canonical_request(
            method, path, query, headers, parsed.signed_headers, body, lower_values=lower_values
        )
        expected = signature(secret_key, timestamp, canonical, parsed.service)
        matched |= hmac.compare_digest(expected, parsed.signature)
    if not matched:
        raise SignatureFailure()
