"""The OpenAPI document against served answers: each documented answer model validates the
route's real answer (no undocumented top-level field, none missing), and error answers have the
documented envelope and a status the document lists for that route."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "privacy_api"))

from gate_fakes import fake_pool, png

from openkyc.api.schemas import ANSWERS, ErrorEnvelope, TencentEnvelope


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


IMAGE, OTHER, VIDEO = b64(png(1)), b64(png(2)), b64(b"\x1aE\xdf\xa3 a video the fake liveness accepts")


@pytest.fixture
def contract(runtime: Any, tenant: Any) -> Any:
    runtime.components["models"] = fake_pool()
    return tenant


def _documented(client: Any) -> dict[str, Any]:
    doc: dict[str, Any] = client.get("/openapi.json").json()
    return {op["operationId"]: op for ops in doc["paths"].values() for op in ops.values()}


def test_served_answers_match_the_documented_models(contract: Any) -> None:
    tenant = contract
    operations = _documented(tenant.client)
    served: dict[str, dict[str, Any]] = {}

    def call(operation: str, method: str, path: str, body: Any = None, *, signed: bool = True) -> dict[str, Any]:
        response = tenant.request(method, path, body) if signed else tenant.client.request(method, path, json=body)
        assert response.status_code == 200, f"{operation}: {response.text[:300]}"
        served[operation] = response.json()
        return served[operation]

    call("Health", "GET", "/v1/health", signed=False)
    call("DescribeAccount", "GET", "/v1/account")
    rule = call("CreateRule", "POST", "/v1/rules", {"name": "contract"})["rule_id"]
    call("ModifyRule", "PUT", f"/v1/rules/{rule}", {"name": "contract-2"})
    call("DescribeRule", "GET", f"/v1/rules/{rule}")
    call("DetectFace", "POST", "/v1/faces/detect", {"image": IMAGE})
    call("CompareFace", "POST", "/v1/faces/compare", {"image_a": IMAGE, "image_b": OTHER})
    col = call("CreateCollection", "POST", "/v1/collections", {"name": "c"})["collection_id"]
    call("CreateSubject", "POST", f"/v1/collections/{col}/subjects", {"subject_id": "s1", "image": IMAGE})
    call("SearchFaces", "POST", f"/v1/collections/{col}/search", {"image": IMAGE})
    call("CreateReflectSequence", "POST", "/v1/liveness/reflect-sequences")
    call("DetectLiveness", "POST", "/v1/liveness", {"video": VIDEO, "mode": "silent"})
    selfie = call(
        "VerifySelfie", "POST", "/v1/verifications/selfie", {"video": VIDEO, "image": IMAGE, "mode": "silent"}
    )
    call("DescribeVerification", "GET", f"/v1/verifications/{selfie['verification_id']}")
    call("RecognizeDocument", "POST", "/v1/documents/ocr", {"image": IMAGE})
    token = call("CreateSession", "POST", "/v1/sessions", {"redirect_url": "https://shop.example/done"})["biz_token"]
    call("DescribeSessionResult", "GET", f"/v1/sessions/{token}/result")
    call("DescribeUsage", "GET", "/v1/usage")

    assert set(served) == set(ANSWERS) - {"TencentAction"}
    for operation, answer in served.items():
        schema = operations[operation]["responses"]["200"]["content"]["application/json"]["schema"]
        model = ANSWERS[operation]
        assert schema == {"$ref": f"#/components/schemas/{model.__name__}"}
        model.model_validate(answer)  # extra="forbid": a field the document does not name fails


@pytest.mark.parametrize(
    ("operation", "method", "path", "body", "signed", "status"),
    [
        ("DescribeAccount", "GET", "/v1/account", None, False, 401),
        ("DescribeRule", "GET", "/v1/rules/no-such-rule", None, True, 404),
        ("CompareFace", "POST", "/v1/faces/compare", {"image_a": "%%%"}, True, 400),
        ("CompareFace", "POST", "/v1/faces/compare", {"image_a": b64(b"not an image"), "image_b": IMAGE}, True, 400),
        ("CreateSession", "POST", "/v1/sessions", {"redirect_url": "ftp://x.example/"}, True, 400),
    ],
)
def test_error_answers_are_documented(
    contract: Any, operation: str, method: str, path: str, body: Any, signed: bool, status: int
) -> None:
    tenant = contract
    response = tenant.request(method, path, body) if signed else tenant.client.request(method, path, json=body)
    assert response.status_code == status, response.text
    ErrorEnvelope.model_validate(response.json())
    documented = _documented(tenant.client)[operation]["responses"]
    assert str(status) in documented
    assert documented[str(status)]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorEnvelope"
    }


def test_the_tencent_endpoint_answers_its_documented_envelope(contract: Any) -> None:
    from openkyc.accounts.signing import sign_request

    tenant = contract
    body = b"{}"
    headers = sign_request(
        tenant.secret_id,
        tenant.secret_key,
        method="POST",
        path="/",
        host="testserver",
        body=body,
        timestamp=__import__("time").time().__int__(),
        service="faceid",
    )
    headers.update({"X-TC-Action": "DetectAIFakeFaces", "X-TC-Version": "2018-03-01"})
    response = tenant.client.post("/", content=body, headers=headers)
    envelope = TencentEnvelope.model_validate(response.json())
    assert envelope.Response.Error is not None and envelope.Response.Error.Code == "UnsupportedOperation"
    documented = _documented(tenant.client)["TencentAction"]
    assert list(documented["responses"]) == ["200"]
    assert {p["name"] for p in documented["parameters"]} == {"X-TC-Action", "X-TC-Version"}
