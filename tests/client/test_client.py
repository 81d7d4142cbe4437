"""``openkyc.client``: against the OpenAPI document (no drift), the real app, and scripted transports."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from openkyc.client import (
    OPERATIONS,
    AsyncClient,
    AuthFailureError,
    Client,
    InternalServerError,
    InvalidParameterError,
    OpenKYCAPIError,
    ResourceNotFoundError,
    ServiceUnavailableError,
)
from openkyc.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src"


def _document() -> dict[str, Any]:
    from openkyc.api.app import create_app

    doc: dict[str, Any] = create_app(Settings(environment="test")).openapi()
    return doc


def _operation_id(op: dict[str, Any]) -> str:
    return str(op["operationId"]).split("_")[0]


def test_every_operation_of_the_document_has_a_method_with_its_fields() -> None:
    doc = _document()
    served = {
        (_operation_id(op), method.upper(), path) for path, ops in doc["paths"].items() for method, op in ops.items()
    }
    assert set(OPERATIONS.values()) == served

    schemas = doc["components"]["schemas"]
    by_id = {op_id: name for name, (op_id, _, _) in OPERATIONS.items()}
    for path, ops in doc["paths"].items():
        for op in ops.values():
            method = getattr(Client, by_id[_operation_id(op)])
            params = inspect.signature(method).parameters
            required = {n for n, p in params.items() if p.default is inspect.Parameter.empty and n != "self"}
            for parameter in op.get("parameters", []):
                if parameter["in"] == "header":  # X-TC-Action/X-TC-Version: tencent_action sets them
                    continue
                name = parameter["name"]
                assert name in params or f"{name}_" in params, f"{op['operationId']}: no keyword for {name}"
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body and "$ref" in body and path != "/":
                schema = schemas[body["$ref"].split("/")[-1]]
                for name in schema.get("properties", {}):
                    assert name in params, f"{op['operationId']}: no keyword for body field {name}"
                for name in schema.get("required", []):
                    assert name in required, f"{op['operationId']}: {name} is required by the server"


def test_the_client_imports_nothing_from_the_server_side() -> None:
    code = (
        "import sys, openkyc.client; "
        "print([m for m in sys.modules if m.startswith('openkyc.') and not m.startswith('openkyc.client')]"
        " + [m for m in ('fastapi', 'sqlalchemy', 'cv2', 'pydantic') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC)}, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_calls_against_the_app(tenant: Any) -> None:
    kyc = Client("http://testserver", tenant.secret_id, tenant.secret_key, http=tenant.client)
    assert kyc.describe_account()["app_id"] == tenant.app_id
    assert kyc.health()["status"]
    rule = kyc.create_rule("from-client")
    assert kyc.modify_rule(rule["rule_id"], "renamed")["name"] == "renamed"
    assert kyc.describe_rule(rule["rule_id"])["version"] == 2

    with pytest.raises(ResourceNotFoundError) as missing:
        kyc.describe_rule("no-such-rule")
    assert missing.value.code.startswith("ResourceNotFound") and missing.value.request_id
    assert missing.value.status_code == 404

    with pytest.raises(InvalidParameterError) as invalid:
        kyc.detect_face("not base64 at all!")
    assert invalid.value.request_id

    wrong = Client("http://testserver", tenant.secret_id, "wrong-key", http=tenant.client)
    with pytest.raises(AuthFailureError) as denied:
        wrong.describe_account()
    assert denied.value.code == "AuthFailure.SignatureFailure"

    with pytest.raises(OpenKYCAPIError) as tencent:  # Tencent's envelope, HTTP 200, still an error
        kyc.tencent_action("DetectAIFakeFaces", {})
    assert tencent.value.code == "UnsupportedOperation" and tencent.value.request_id


def test_the_same_write_twice_is_done_once_with_one_key(tenant: Any) -> None:
    kyc = Client("http://testserver", tenant.secret_id, tenant.secret_key, http=tenant.client)
    first = kyc.create_rule("once", idempotency_key="key-1")
    again = kyc.create_rule("once", idempotency_key="key-1")
    assert first["rule_id"] == again["rule_id"]
    with pytest.raises(InvalidParameterError) as twice:  # a fresh key: a second create, refused by name
        kyc.create_rule("once")
    assert twice.value.code == "InvalidParameterValue.RuleNameExists"


def _scripted(statuses: list[int], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = statuses[min(len(seen) - 1, len(statuses) - 1)]
        if status == 200:
            return httpx.Response(200, json={"rule_id": "r1", "RequestId": "req-ok"})
        code = "RequestLimitExceeded" if status == 429 else "ResourceUnavailable.ServerBusy"
        body = {"Error": {"Code": code, "Message": "later"}, "RequestId": f"req-{len(seen)}"}
        return httpx.Response(status, json=body, headers={"Retry-After": "0"})

    return httpx.MockTransport(handle)


def test_429_and_503_are_retried_after_retry_after_with_one_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=_scripted([429, 503, 200], seen))
    kyc = Client("http://kyc.example", "AKID", "secret", http=http)
    assert kyc.create_rule("r")["rule_id"] == "r1"
    assert len(seen) == 3
    assert len({r.headers["Idempotency-Key"] for r in seen}) == 1  # the write is done once
    assert len({r.headers["Authorization"] for r in seen}) == 3  # each retry signed afresh (nonce)
    assert all(r.headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=AKID/") for r in seen)

    seen.clear()
    busy = Client(
        "http://kyc.example", "AKID", "secret", http=httpx.Client(transport=_scripted([503], seen)), max_retries=2
    )
    with pytest.raises(ServiceUnavailableError) as caught:
        busy.describe_account()
    assert len(seen) == 3 and caught.value.request_id == "req-3" and caught.value.retry_after == 0
    assert "Idempotency-Key" not in seen[0].headers  # reads carry none


def test_the_signature_is_the_servers(tenant: Any) -> None:
    """The client's own signer (no server import) is accepted by the server's verifier."""
    from openkyc.accounts import signing
    from openkyc.client._core import Signer

    body = json.dumps({"name": "x"}).encode()
    headers = Signer(tenant.secret_id, tenant.secret_key).headers("POST", "http://testserver/v1/rules?a=1", body)
    parsed = signing.parse_authorization(headers["Authorization"])
    lower = {k.lower(): v for k, v in headers.items()} | {"host": "testserver"}
    signing.verify(
        parsed,
        tenant.secret_key,
        timestamp=int(headers["X-TC-Timestamp"]),
        method="POST",
        path="/v1/rules",
        query="a=1",
        headers=lower,
        body=body,
    )


def test_async_client_against_the_app(tenant: Any) -> None:
    app = tenant.client.app

    async def main() -> None:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        async with AsyncClient("http://testserver", tenant.secret_id, tenant.secret_key, http=http) as kyc:
            assert (await kyc.describe_account())["app_id"] == tenant.app_id
            rule = await kyc.create_rule("async")
            assert (await kyc.describe_rule(rule["rule_id"]))["name"] == "async"
            with pytest.raises(ResourceNotFoundError):
                await kyc.describe_rule("missing")

    anyio.run(main)


def test_new_operations_against_the_app(tenant: Any, runtime: Any) -> None:
    kyc = Client("http://testserver", tenant.secret_id, tenant.secret_key, http=tenant.client, max_retries=0)
    runtime.components["ready"] = True
    ready = kyc.readiness()  # unsigned, like health
    assert ready["ready"] is True and kyc.health()["ready"] is True
    runtime.components["ready"] = False
    with pytest.raises(InternalServerError) as starting:  # 503 without an error envelope
        kyc.readiness()
    assert starting.value.status_code == 503

    rule = kyc.create_rule("listed")
    assert rule["rule_id"] in [r["rule_id"] for r in kyc.list_rules(name="listed")["rules"]]
    collection = kyc.create_collection("to-delete")
    assert kyc.list_subjects(collection["collection_id"])["subjects"] == []
    kyc.delete_collection(collection["collection_id"])
    with pytest.raises(ResourceNotFoundError):
        kyc.describe_collection(collection["collection_id"])
    challenge = kyc.create_liveness_challenge()
    assert challenge["challenge_id"]
