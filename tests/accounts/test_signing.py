"""TC3-HMAC-SHA256 signing: the algorithm itself, independent of HTTP."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from openkyc.accounts import signing
from openkyc.errors import InvalidAuthorization, SignatureExpire, SignatureFailure

SECRET_ID = "AKIDEXAMPLE0000000000000000000000000"
SECRET_KEY = "secretkeyexample0000000000000000000000"
TS = 1_700_000_000


def _reference_signature(secret_key: str, timestamp: int, canonical: str) -> str:
    """Tencent Cloud's documented derivation, written out step by step."""
    date = "2023-11-14"
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    string_to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{date}/openkyc/tc3_request\n{digest}"

    def h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    secret_signing = h(h(h(("TC3" + secret_key).encode(), date), "openkyc"), "tc3_request")
    return hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_canonical_request_layout() -> None:
    canonical = signing.canonical_request(
        "post",
        "/v1/faces/compare",
        "",
        {"Content-Type": "application/json", "Host": "Example.COM"},
        ("content-type", "host"),
        b"{}",
    )
    assert canonical == (
        "POST\n/v1/faces/compare\n\ncontent-type:application/json\nhost:example.com\n\n"
        "content-type;host\n" + hashlib.sha256(b"{}").hexdigest()
    )


def test_signature_matches_reference_derivation() -> None:
    canonical = signing.canonical_request(
        "POST", "/v1/x", "", {"content-type": "a", "host": "h"}, ("content-type", "host"), b"1"
    )
    assert signing.signature(SECRET_KEY, TS, canonical) == _reference_signature(SECRET_KEY, TS, canonical)


def test_sign_then_verify_round_trip() -> None:
    headers = signing.sign_request(
        SECRET_ID, SECRET_KEY, method="POST", path="/v1/rules", host="h:1", body=b'{"a":1}', timestamp=TS
    )
    parsed = signing.parse_authorization(headers["Authorization"])
    assert parsed.secret_id == SECRET_ID
    assert parsed.signed_headers == ("content-type", "host")
    signing.verify(
        parsed,
        SECRET_KEY,
        timestamp=TS,
        method="POST",
        path="/v1/rules",
        query="",
        headers={"content-type": "application/json", "host": "h:1"},
        body=b'{"a":1}',
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", b'{"a":2}'),
        ("path", "/v1/other"),
        ("method", "PUT"),
        ("query", "x=1"),
        ("host", "evil:1"),
        ("key", "wrong-key"),
    ],
)
def test_any_change_breaks_the_signature(field: str, value: object) -> None:
    headers = signing.sign_request(
        SECRET_ID, SECRET_KEY, method="POST", path="/v1/rules", host="h:1", body=b'{"a":1}', timestamp=TS
    )
    parsed = signing.parse_authorization(headers["Authorization"])
    args: dict[str, object] = {"method": "POST", "path": "/v1/rules", "query": "", "body": b'{"a":1}'}
    request_headers = {"content-type": "application/json", "host": "h:1"}
    key = SECRET_KEY
    if field == "host":
        request_headers["host"] = str(value)
    elif field == "key":
        key = str(value)
    else:
        args[field] = value
    with pytest.raises(SignatureFailure):
        signing.verify(parsed, key, timestamp=TS, headers=request_headers, **args)  # type: ignore[arg-type]


def test_scope_date_must_match_timestamp() -> None:
    headers = signing.sign_request(SECRET_ID, SECRET_KEY, method="GET", path="/v1/account", host="h", timestamp=TS)
    parsed = signing.parse_authorization(headers["Authorization"])
    with pytest.raises(SignatureFailure):
        signing.verify(
            parsed,
            SECRET_KEY,
            timestamp=TS + 86_400,
            method="GET",
            path="/v1/account",
            query="",
            headers={"content-type": "application/json", "host": "h"},
            body=b"",
        )


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer abc",
        "TC3-HMAC-SHA256 Credential=AKID/2023-11-14/openkyc/tc3_request, SignedHeaders=host, Signature=" + "0" * 64,
        "TC3-HMAC-SHA256 Credential=AKID/2023-11-14/cvm/tc3_request, SignedHeaders=content-type;host, Signature="
        + "0" * 64,
        "TC3-HMAC-SHA256 Credential=AKID/2023-11-14/openkyc/tc3_request, SignedHeaders=content-type;host, Signature=zz",
    ],
)
def test_malformed_authorization(authorization: str) -> None:
    with pytest.raises(InvalidAuthorization):
        signing.parse_authorization(authorization)


@pytest.mark.parametrize(
    ("offset", "ok"), [(0, True), (299, True), (-299, True), (301, False), (-301, False), (600, False)]
)
def test_clock_window(offset: int, ok: bool) -> None:
    if ok:
        assert signing.parse_timestamp(str(TS + offset), now=TS, window_seconds=300) == TS + offset
    else:
        with pytest.raises(SignatureExpire):
            signing.parse_timestamp(str(TS + offset), now=TS, window_seconds=300)


@pytest.mark.parametrize("value", ["abc", "-5", "1.5", "9" * 20])
def test_timestamp_must_be_integer_seconds(value: str) -> None:
    with pytest.raises(InvalidAuthorization):
        signing.parse_timestamp(value, now=TS, window_seconds=300)
