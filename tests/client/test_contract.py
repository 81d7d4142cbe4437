"""The OpenAPI document against served answers: every operation declares its answer model and
its error codes; each model validates the route's real answer (no undocumented field, none
missing); error answers have the documented envelope and a status and code the document lists
for that route. (Every API test also runs the same check on what it receives: tests/openapi_contract.py.)"""

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


IMAGE = b64(png(1))


@pytest.fixture
def contract(runtime: Any, tenant: Any) -> Any:
    runtime.components["models"] = fake_pool()
    return tenant


def _documented(client: Any) -> dict[str, Any]:
    doc: dict[str, Any] = client.get("/openapi.json").json()
    return {op["operationId"]: op for ops in doc["paths"].values() for op in ops.values()}


def _walk_of_every_route() -> Any:
    from test_gate_boundary import _walk  # every route once, with a realistic body

    return _walk


def test_every_operation_declares_its_answer_and_errors(settings: Any) -> None:
    """Walks the document: each operation has a 200 answer with a model (JSON: one of ANSWERS,
    strict), and each error status lists its codes with the error envelope."""
    from openkyc.api.app import create_app

    document = create_app(settings).openapi()
    components = document["components"]["schemas"]
    missing, loose = [], []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            name = operation["operationId"]
            content = operation["responses"].get("200", {}).get("content", {})
            if not content:
                missing.append(f"{method.upper()} {path} {name}")
                continue
            if "application/json" in content:
                model = ANSWERS.get(name)
                assert model is not None, f"{name}: a JSON answer without a model"
                assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model.__name__}"}
                schema = components[model.__name__]
                if schema.get("additionalProperties") is not False and name != "TencentAction":
                    loose.append(name)
            if path == "/":
                continue
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    if name == "Readiness" and status == "503":  # not ready yet: the same answer
                        assert response["content"] == operation["responses"]["200"]["content"]
                        continue
                    assert response["x-error-codes"], f"{name} {status}: no codes"
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorEnvelope"
                    }
            assert "500" in operation["responses"], name
    assert missing == [], "operations without a declared answer"
    assert loose == [], "answer models that accept undeclared fields"
    assert set(ANSWERS) <= {op["operationId"] for ops in document["paths"].values() for op in ops.values()}


def test_every_operation_answers_as_documented(contract: Any) -> None:
    """The route walk (every route, realistic bodies) through the contract check of the test
    client: every JSON operation of the document was answered, and validated by its strict model."""
    tenant = contract
    _walk_of_every_route()(tenant)
    for other_format in ("/v1/privacy/ropa?format=json", "/v1/privacy/ropa?format=html"):
        assert tenant.get(other_format).status_code == 200
    check = tenant.client.contract
    assert check.problems == [], check.report()
    json_operations = {name for name, op in _documented(tenant.client).items() if name in ANSWERS}
    assert json_operations - check.seen == set(), "operations the walk did not validate"


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
    code = ErrorEnvelope.model_validate(response.json()).Error.Code
    documented = _documented(tenant.client)[operation]["responses"]
    assert code in documented[str(status)]["x-error-codes"]
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
