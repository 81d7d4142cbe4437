"""The single error envelope, pinned; bad input of every kind is a 4xx with a stable code."""

from __future__ import annotations

from typing import Any

import pytest

from openkyc import errors


def test_envelope_is_pinned(tenant: Any) -> None:
    response = tenant.get("/v1/rules/rule-doesnotexist")
    assert response.status_code == 404
    body = response.json()
    assert list(body) == ["Error", "RequestId"]
    assert list(body["Error"]) == ["Code", "Message"]
    assert body["Error"]["Code"] == "ResourceNotFound.Rule"
    assert isinstance(body["Error"]["Message"], str) and body["Error"]["Message"]
    assert response.headers["x-request-id"] == body["RequestId"]


@pytest.mark.parametrize(
    ("method", "path", "raw", "status", "code"),
    [
        ("POST", "/v1/rules", b"{not json", 400, "InvalidParameter.MalformedJSON"),
        ("POST", "/v1/rules", b"[]", 400, "InvalidParameterValue"),
        ("POST", "/v1/rules", b"{}", 400, "MissingParameter"),
        ("POST", "/v1/rules", b'{"name": 5}', 400, "InvalidParameterValue"),
        ("POST", "/v1/rules", b'{"name": "x", "unknown": 1}', 400, "InvalidParameterValue"),
        ("POST", "/v1/liveness/reflect-sequences", b"{not json", 400, "InvalidParameter.MalformedJSON"),
        ("POST", "/v1/liveness/reflect-sequences", b"[]", 400, "InvalidParameterValue"),
        ("POST", "/v1/liveness/reflect-sequences", b'{"colours": 99999999999999999999}', 400, "InvalidParameterValue"),
        ("GET", "/v1/nowhere", b"", 404, "ResourceNotFound.Path"),
        ("DELETE", "/v1/account", b"", 405, "UnsupportedOperation.MethodNotAllowed"),
    ],
)
def test_bad_requests(tenant: Any, method: str, path: str, raw: bytes, status: int, code: str) -> None:
    headers = tenant.sign(method, path, raw)
    response = tenant.client.request(method, path, content=raw, headers=headers)
    assert response.status_code == status
    assert response.json()["Error"]["Code"] == code


@pytest.mark.parametrize("raw", [b"", b"{}"])
def test_reflect_sequence_needs_no_body(tenant: Any, raw: bytes) -> None:
    path = "/v1/liveness/reflect-sequences"
    response = tenant.client.post(path, content=raw, headers=tenant.sign("POST", path, raw))
    assert response.status_code == 200
    assert response.json()["sequence_id"]


def test_oversized_body_is_refused_before_parsing(tenant: Any, settings: Any) -> None:
    raw = b'{"name": "' + b"a" * (settings.max_body_bytes + 10) + b'"}'
    headers = tenant.sign("POST", "/v1/rules", raw)
    response = tenant.client.post("/v1/rules", content=raw, headers=headers)
    assert response.status_code == 413
    assert response.json()["Error"]["Code"] == "RequestSizeLimitExceeded"


def test_unknown_path_outside_api(client: Any) -> None:
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert response.json()["Error"]["Code"] == "ResourceNotFound.Path"


def test_validation_messages_do_not_echo_input(tenant: Any) -> None:
    planted = "PLANTED-NAME-Jane-Doe-1984"
    response = tenant.post("/v1/rules", {"name": "ok", "config": {"language": planted}})
    assert response.status_code == 400
    assert planted not in response.text


def _all_error_classes() -> list[type[errors.OpenKYCError]]:
    found: list[type[errors.OpenKYCError]] = []
    stack: list[type[errors.OpenKYCError]] = [errors.OpenKYCError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_has_status_and_code(cls: type[errors.OpenKYCError]) -> None:
    assert 400 <= cls.status_code <= 599
    assert cls.code and " " not in cls.code
    parent_code = cls.__mro__[1].code if cls is not errors.OpenKYCError else None
    if parent_code and cls.status_code < 500 and cls.code != parent_code:
        assert cls.code.split(".")[0] in {
            "InvalidParameter",
            "InvalidParameterValue",
            "MissingParameter",
            "AuthFailure",
            "UnauthorizedOperation",
            "ResourceNotFound",
            "UnsupportedOperation",
            "RequestSizeLimitExceeded",
            "FailedOperation",
            "RequestLimitExceeded",
            "LimitExceeded",
            "ResourceUnavailable",
            "ResourceInUse",
            "RequestTimeout",
        }


def test_call_record_written_without_payload(tenant: Any, runtime: Any) -> None:
    from sqlalchemy import select

    from openkyc.store.models.diagnostics import CallRecord

    response = tenant.post("/v1/rules", {"name": "PLANTEDRULE"})
    request_id = response.json()["RequestId"]
    with runtime.transaction() as session:
        record = session.get(CallRecord, request_id)
        assert record is not None
        assert record.action == "CreateRule"
        assert record.app_id == tenant.app_id
        assert record.status_code == 200
        assert "PLANTEDRULE" not in repr([getattr(record, c) for c in CallRecord.__table__.columns.keys()])
        failed = tenant.get("/v1/rules/rule-missing")
        session.expire_all()
        failed_record = session.scalar(select(CallRecord).where(CallRecord.request_id == failed.json()["RequestId"]))
        assert failed_record is not None and failed_record.error_code == "ResourceNotFound.Rule"


def _without_content_type(tenant: Any, path: str, raw: bytes) -> Any:
    headers = {k: v for k, v in tenant.sign("POST", path, raw, content_type="").items() if k.lower() != "content-type"}
    request = tenant.client.build_request("POST", path, content=raw, headers=headers)
    request.headers.pop("content-type", None)
    assert "content-type" not in request.headers
    return tenant.client.send(request)


def test_a_json_body_without_content_type_is_read_as_json(tenant: Any) -> None:
    """docs/api.md: a body with no Content-Type is JSON (and checked as JSON by the gateway)."""
    response = _without_content_type(tenant, "/v1/rules", b'{"name": "no content type"}')
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "no content type"
    response = _without_content_type(tenant, "/v1/rules", b'{"name": "a\\u0000b"}')
    assert response.status_code == 400
    assert response.json()["Error"]["Code"] == "InvalidParameterValue.NulCharacter"
    response = _without_content_type(tenant, "/v1/rules", b'{"name": ')
    assert response.json()["Error"]["Code"] == "InvalidParameter.MalformedJSON"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_of_another_media_type_is_told_to_send_json(tenant: Any, content_type: str) -> None:
    raw = b'{"name": "sent as a form"}'  # what `curl -d` sends
    headers = tenant.sign("POST", "/v1/rules", raw, content_type=content_type)
    response = tenant.client.post("/v1/rules", content=raw, headers=headers)
    assert response.status_code == 400
    error = response.json()["Error"]
    assert error["Code"] == "InvalidParameter.MalformedJSON"
    assert "Content-Type: application/json" in error["Message"]
