"""Signed requests over HTTP: every failure mode gets its code, and the happy path works."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from openkyc.accounts import service as accounts


def _error(response: Any) -> str:
    body = response.json()
    assert set(body) == {"Error", "RequestId"}
    return str(body["Error"]["Code"])


def test_signed_request_returns_the_callers_app(tenant: Any) -> None:
    response = tenant.get("/v1/account")
    assert response.status_code == 200
    body = response.json()
    assert body["app_id"] == tenant.app_id
    assert body["account_id"] == tenant.account_id
    assert body["app_name"] == "tenant"
    assert body["RequestId"]


def test_tampered_body_is_refused(tenant: Any) -> None:
    body = json.dumps({"name": "r"}).encode()
    headers = tenant.sign("POST", "/v1/rules", body)
    response = tenant.client.post("/v1/rules", content=body.replace(b'"r"', b'"s"'), headers=headers)
    assert response.status_code == 401
    assert _error(response) == "AuthFailure.SignatureFailure"


def test_old_timestamp_is_refused(tenant: Any) -> None:
    headers = tenant.sign("GET", "/v1/account", timestamp=int(time.time()) - 600)
    response = tenant.client.get("/v1/account", headers=headers)
    assert response.status_code == 401
    assert _error(response) == "AuthFailure.SignatureExpire"


def test_future_timestamp_is_refused(tenant: Any) -> None:
    headers = tenant.sign("GET", "/v1/account", timestamp=int(time.time()) + 600)
    assert _error(tenant.client.get("/v1/account", headers=headers)) == "AuthFailure.SignatureExpire"


def test_unknown_secret_id_is_refused(tenant: Any) -> None:
    tenant.secret_id = "AKIDdoesnotexist000000000000000000000"
    response = tenant.get("/v1/account")
    assert response.status_code == 401
    assert _error(response) == "AuthFailure.SecretIdNotFound"


def test_wrong_key_is_refused(tenant: Any) -> None:
    tenant.secret_key = "x" * 40
    assert _error(tenant.get("/v1/account")) == "AuthFailure.SignatureFailure"


def test_replay_is_refused(tenant: Any) -> None:
    headers = tenant.sign("GET", "/v1/account")
    assert tenant.client.get("/v1/account", headers=headers).status_code == 200
    replay = tenant.client.get("/v1/account", headers=headers)
    assert replay.status_code == 401
    assert _error(replay) == "AuthFailure.RequestReplayed"


def test_disabled_credential_is_refused(tenant: Any, runtime: Any) -> None:
    with runtime.transaction() as session:
        accounts.disable_credential(session, tenant.secret_id)
    assert _error(tenant.get("/v1/account")) == "AuthFailure.SecretIdDisabled"


def test_rotated_credential_works_and_old_one_is_refused(tenant: Any, runtime: Any) -> None:
    with runtime.transaction() as session:
        issued = accounts.rotate_credential(session, runtime.keyring, tenant.secret_id)
    assert _error(tenant.get("/v1/account")) == "AuthFailure.SecretIdDisabled"
    tenant.secret_id, tenant.secret_key = issued.secret_id, issued.secret_key
    assert tenant.get("/v1/account").status_code == 200


@pytest.mark.parametrize("drop", ["Authorization", "X-TC-Timestamp"])
def test_missing_auth_header(tenant: Any, drop: str) -> None:
    headers = tenant.sign("GET", "/v1/account")
    del headers[drop]
    response = tenant.client.get("/v1/account", headers=headers)
    assert response.status_code == 401
    assert _error(response) == "AuthFailure.MissingAuthHeader"


def test_duplicated_auth_header(tenant: Any) -> None:
    headers = tenant.sign("GET", "/v1/account")
    raw = [(k, v) for k, v in headers.items()] + [("Authorization", headers["Authorization"])]
    response = tenant.client.get("/v1/account", headers=raw)
    assert _error(response) == "AuthFailure.MissingAuthHeader"


def test_garbled_authorization(tenant: Any) -> None:
    headers = tenant.sign("GET", "/v1/account")
    headers["Authorization"] = "TC3-HMAC-SHA256 nonsense"
    assert _error(tenant.client.get("/v1/account", headers=headers)) == "AuthFailure.InvalidAuthorization"


def test_health_needs_no_signature(client: Any) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_secret_key_is_stored_encrypted(tenant: Any, runtime: Any) -> None:
    from sqlalchemy import select

    from openkyc.store.models.accounts import Credential

    with runtime.transaction() as session:
        stored = session.scalar(select(Credential.secret_key_enc).where(Credential.secret_id == tenant.secret_id))
    assert stored is not None
    assert tenant.secret_key.encode() not in stored


def test_identical_requests_with_distinct_nonces_both_pass(tenant: Any) -> None:
    first = tenant.sign("GET", "/v1/account", nonce=True)
    second = tenant.sign("GET", "/v1/account", nonce=True)
    assert first["Authorization"] != second["Authorization"]
    assert "x-tc-nonce" in first["Authorization"]
    assert tenant.client.get("/v1/account", headers=first).status_code == 200
    assert tenant.client.get("/v1/account", headers=second).status_code == 200


def test_signed_nonce_cannot_be_altered(tenant: Any) -> None:
    headers = tenant.sign("GET", "/v1/account", nonce=True)
    headers["X-TC-Nonce"] = "changed"
    assert _error(tenant.client.get("/v1/account", headers=headers)) == "AuthFailure.SignatureFailure"
