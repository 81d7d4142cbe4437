"""Every route answers bad input with a 4xx and the envelope, never a 500."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from typing import Any

import pytest

from openkyc.api.app import api_routes, create_app
from openkyc.settings import Settings


def _routes() -> list[tuple[str, str]]:
    routes = api_routes(create_app(Settings(environment="test")))
    return [(method, path) for method, path, _ in routes if path.startswith(("/v1/", "/verify/"))]


BAD_BODIES: list[Any] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b"{}",
    b'{"image": 5, "video": [], "subject_id": {}, "top_k": "x"}',
    b'{"image": "'
    + base64.b64encode(b"not an image at all").decode().encode()
    + b'", "video": "AAAA", "image_a": "AAAA", "image_b": "AAAA", "document_image": "AAAA", "subject_id": "s", "redirect_url": "https://x.example/", "name": "n", "purpose": "nope", "text_version": "1", "dataset": "d"}',
    b'{"top_k": 1e309, "subject_id": "' + b"x" * 5000 + b'"}',
    b"\xff\xfe\x00garbage",
]


@pytest.mark.parametrize(("method", "path"), _routes())
def test_bad_input_never_gives_500(tenant: Any, method: str, path: str) -> None:
    concrete = (
        path.replace("{rule_id}", "rule-x")
        .replace("{collection_id}", "col-x")
        .replace("{subject_id}", "s-x")
        .replace("{verification_id}", "ver-x")
        .replace("{request_id}", "req-x")
        .replace("{biz_token}", "tok-x")
    )
    for raw in BAD_BODIES:
        headers = tenant.sign(method, concrete, raw, nonce=True)
        response = tenant.client.request(method, concrete, content=raw, headers=headers)
        assert 200 <= response.status_code < 500, (method, concrete, raw[:40], response.text[:200])
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"Error", "RequestId"} and body["Error"]["Code"]


def _concrete(path: str, value: str) -> str:
    """``path`` with every ``{param}`` replaced by ``value``."""
    return re.sub(r"\{[^}]+\}", value, path)


BODY_ROUTES = [(method, path) for method, path in _routes() if method in {"POST", "PUT"}]

# Each must be 400 InvalidParameter.MalformedJSON on every body route, before any route code runs.
MALFORMED_JSON: list[bytes] = [
    b'{"name": "\xff"}',  # invalid UTF-8
    b'{"name": "\xed\xa0\x80"}',  # an encoded surrogate (not UTF-8)
    b'{"name": "\\ud800"}',  # a lone surrogate escape: not text any database stores
    b'{"name": "x", "config": {"language": "\\udc00\\ud800"}}',  # surrogates in the wrong order
    b'{"a": ' * 1000 + b"1" + b"}" * 1000,  # 1,000 deep: beyond the JSON parser's recursion limit
    b"[" * 1000 + b"]" * 1000,
    b'{"extra": ' * 40 + b"{}" + b"}" * 40,  # 41 deep: parses, but over the 32-level limit
]

# A NUL anywhere in a JSON string, keys included: 400 InvalidParameterValue.NulCharacter.
NUL_BODIES: list[bytes] = [
    b'{"name": "rule\\u0000x", "config": {}}',
    b'{"subject_id": "s\\u0000", "image": "AAAA", "redirect_url": "https://x.example/\\u0000"}',
    b'{"na\\u0000me": "x"}',
    b'{"extra": {"deep": [[["x", "\\u0000"]]]}, "purpose": "troubleshooting"}',
    b'{"name": "\\\\\\u0000"}',  # an escaped backslash, then a NUL
]


def _assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert set(body) == {"Error", "RequestId"}
    assert body["Error"]["Code"] == code, body
    assert response.headers["x-request-id"] == body["RequestId"]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize("raw", MALFORMED_JSON, ids=range(len(MALFORMED_JSON)))
def test_malformed_json_is_400_on_every_body_route(tenant: Any, method: str, path: str, raw: bytes) -> None:
    concrete = _concrete(path, "id-x")
    response = tenant.client.request(method, concrete, content=raw, headers=tenant.sign(method, concrete, raw))
    _assert_error(response, 400, "InvalidParameter.MalformedJSON")


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize("raw", NUL_BODIES, ids=range(len(NUL_BODIES)))
def test_nul_in_body_is_400_on_every_body_route(tenant: Any, method: str, path: str, raw: bytes) -> None:
    concrete = _concrete(path, "id-x")
    response = tenant.client.request(method, concrete, content=raw, headers=tenant.sign(method, concrete, raw))
    _assert_error(response, 400, "InvalidParameterValue.NulCharacter")


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p in _routes() if "{" in p])
def test_nul_in_path_parameter_is_400(tenant: Any, method: str, path: str) -> None:
    concrete = _concrete(path, "id%00x")
    body = b"{}" if method in {"POST", "PUT"} else b""
    response = tenant.client.request(method, concrete, content=body, headers=tenant.sign(method, concrete, body))
    _assert_error(response, 400, "InvalidParameterValue.NulCharacter")


@pytest.mark.parametrize(("method", "path"), _routes())
def test_nul_in_query_is_400(tenant: Any, method: str, path: str) -> None:
    concrete = _concrete(path, "id-x")
    body = b"{}" if method in {"POST", "PUT"} else b""
    query = "from=2024-01-01%00&to=x"
    headers = tenant.sign(method, concrete, body, query=query)
    response = tenant.client.request(method, f"{concrete}?{query}", content=body, headers=headers)
    _assert_error(response, 400, "InvalidParameterValue.NulCharacter")


def test_nul_on_unauthenticated_page(client: Any) -> None:
    _assert_error(client.get("/verify/tok%00"), 400, "InvalidParameterValue.NulCharacter")
    _assert_error(
        client.post("/verify/tok/submit", content=b'{"video": "\\u0000"}'), 400, "InvalidParameterValue.NulCharacter"
    )


def test_escaped_backslash_before_u0000_is_text_not_nul(tenant: Any) -> None:
    """``"a\\\\u0000"`` in JSON is the text ``a\\u0000`` (a backslash, then ``u0000``): no NUL.

    A rule name may not hold a backslash, so the route itself refuses it, with its own code.
    """
    raw = b'{"name": "a\\\\u0000", "config": {}}'
    response = tenant.client.post("/v1/rules", content=raw, headers=tenant.sign("POST", "/v1/rules", raw))
    _assert_error(response, 400, "InvalidParameterValue")
    assert "name" in response.json()["Error"]["Message"]


def test_paired_surrogate_escapes_are_text(tenant: Any) -> None:
    raw = b'{"name": "rule \\ud840\\udc00", "config": {}}'
    created = tenant.client.post("/v1/rules", content=raw, headers=tenant.sign("POST", "/v1/rules", raw))
    assert created.status_code == 200, created.text
    assert created.json()["name"] == "rule \U00020000"
    assert tenant.get(f"/v1/rules/{created.json()['rule_id']}").json()["name"] == "rule \U00020000"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/usage?from=9999-12-31&to=9999-12-31", "InvalidParameterValue.DateOutOfRange"),
        ("/v1/usage?from=9999-12-01&to=9999-12-31", "InvalidParameterValue.DateOutOfRange"),
        ("/v1/bills/9999-12", "InvalidParameterValue.DateOutOfRange"),
        ("/v1/bills/99999999999999999999-01", "InvalidParameterValue.Month"),
        ("/v1/usage?from=10000-01-01", "InvalidParameterValue.Date"),
    ],
)
def test_dates_out_of_range_are_400(tenant: Any, path: str, code: str) -> None:
    _assert_error(tenant.get(path), 400, code)


def test_last_representable_month_before_the_limit_is_answered(tenant: Any) -> None:
    response = tenant.get("/v1/bills/9999-11")
    assert response.status_code == 200, response.text
    assert response.json()["total"] == "0.00"


def test_a_remaining_500_logs_its_cause_with_the_request_id(
    tenant: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openkyc.config import service
    from openkyc.logs import make_handler
    from openkyc.store.models.diagnostics import CallRecord

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("rule store broke while reading 1984-05-12 of L898902C3")

    monkeypatch.setattr(service, "get_rule", broken)
    stream = io.StringIO()
    handler = make_handler(stream, "json")
    logger = logging.getLogger("openkyc")
    logger.addHandler(handler)
    try:
        response = tenant.get("/v1/rules/rule-x")
    finally:
        logger.removeHandler(handler)
    _assert_error(response, 500, "InternalError")
    assert "broke" not in response.text
    request_id = response.json()["RequestId"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    failures = [line for line in lines if line.get("level") == "ERROR"]
    assert len(failures) == 1, lines
    failure = failures[0]
    assert failure["request_id"] == request_id
    assert failure["exc_class"] == "RuntimeError"
    assert failure["route"] == "/v1/rules/{rule_id}"
    assert "Traceback" in failure["traceback"] and "rule store broke" in failure["traceback"]
    assert "1984-05-12" not in stream.getvalue() and "L898902C3" not in stream.getvalue()
    with runtime.transaction() as session:
        record = session.get(CallRecord, request_id)
        assert record is not None and record.status_code == 500 and record.error_code == "InternalError"


HUGE = str(10**30)  # beyond every integer column (the drivers raised OverflowError / out of range)


@pytest.mark.parametrize(("method", "path"), _routes())
def test_numbers_beyond_64_bits_never_give_500(tenant: Any, method: str, path: str) -> None:
    """Every path parameter, the ``app_id`` filter and an ``app_id`` body field set to 10**30."""
    concrete = _concrete(path, HUGE)
    for query, body in ((f"app_id={HUGE}", b""), ("", b'{"app_id": ' + HUGE.encode() + b"}")):
        headers = tenant.sign(method, concrete, body, query=query, nonce=True)
        url = f"{concrete}?{query}" if query else concrete
        response = tenant.client.request(method, url, content=body, headers=headers)
        assert 200 <= response.status_code < 500, (method, concrete, query, response.text[:200])
