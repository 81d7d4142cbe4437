"""Interoperability: a request signed by Tencent Cloud's own Python SDK signer is accepted."""

from __future__ import annotations

import json
from typing import Any

import pytest

abstract_client = pytest.importorskip("tencentcloud.common.abstract_client")
credential = pytest.importorskip("tencentcloud.common.credential")
http_request = pytest.importorskip("tencentcloud.common.http.request")


def _sdk_signed(tenant: Any, method: str, path: str, params: dict[str, Any]) -> Any:
    client = abstract_client.AbstractClient(
        credential.Credential(tenant.secret_id, tenant.secret_key), region="", profile=None
    )
    client._service = "openkyc"
    client._endpoint = "testserver"
    client._apiVersion = "2026-11-29"
    req = http_request.RequestInternal("testserver", method, path)
    client._build_req_with_tc3_signature("Call", params, req)
    return req


@pytest.mark.parametrize(("method", "path", "params"), [("POST", "/v1/rules", {"name": "sdk-made"})])
def test_sdk_signed_post_is_accepted(tenant: Any, method: str, path: str, params: dict[str, Any]) -> None:
    req = _sdk_signed(tenant, method, path, params)
    response = tenant.client.request(method, path, content=req.data.encode(), headers=dict(req.header))
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "sdk-made"


def test_sdk_signed_get_with_query_is_accepted(tenant: Any) -> None:
    req = _sdk_signed(tenant, "GET", "/v1/account", {"x": "1"})
    response = tenant.client.get(f"/v1/account?{req.data}", headers=dict(req.header))
    assert response.status_code == 200, response.text
    assert response.json()["app_id"] == tenant.app_id


def test_sdk_signed_request_with_a_changed_body_is_refused(tenant: Any) -> None:
    req = _sdk_signed(tenant, "POST", "/v1/rules", {"name": "a"})
    response = tenant.client.post("/v1/rules", content=json.dumps({"name": "b"}).encode(), headers=dict(req.header))
    assert response.status_code == 401
    assert response.json()["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_raw_mixed_case_header_values_as_the_sdk_signs_them(tenant: Any) -> None:
    """Tencent's SDKs sign header values as sent; the documentation lower-cases them. Both pass."""
    from openkyc.accounts import signing

    content_type = "application/json; charset=UTF-8"
    body = json.dumps({"name": "mixed"}).encode()
    ts = __import__("time").time().__int__()
    canonical = signing.canonical_request(
        "POST",
        "/v1/rules",
        "",
        {"content-type": content_type, "host": "testserver"},
        ("content-type", "host"),
        body,
        lower_values=False,
    )
    sig = signing.signature(tenant.secret_key, ts, canonical)
    headers = {
        "Authorization": f"TC3-HMAC-SHA256 Credential={tenant.secret_id}/{signing.date_of(ts)}/openkyc/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={sig}",
        "X-TC-Timestamp": str(ts),
        "Content-Type": content_type,
    }
    response = tenant.client.post("/v1/rules", content=body, headers=headers)
    assert response.status_code == 200, response.text
