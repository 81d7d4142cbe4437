"""Idempotency-Key: a retried write gets the first answer again and the work is done once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from openkyc.api.app import create_app
from openkyc.store import idempotency as store
from openkyc.store.models.config import Rule
from openkyc.store.models.idempotency import IdempotentRequest


def _send(tenant: Any, method: str, path: str, payload: Any, key: str | None) -> Any:
    """A freshly signed request (a retry is always re-signed), with an optional key."""
    body = json.dumps(payload).encode()
    headers = tenant.sign(method, path, body, nonce=True)
    if key is not None:
        headers["Idempotency-Key"] = key
    return tenant.client.request(method, path, content=body, headers=headers)


def _rules(runtime: Any, app_id: int) -> int:
    with runtime.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Rule).where(Rule.app_id == app_id)) or 0)


def _rows(runtime: Any) -> list[IdempotentRequest]:
    with runtime.transaction() as session:
        return list(session.scalars(select(IdempotentRequest)))


def test_same_key_twice_replays_the_first_answer_and_creates_one_rule(runtime: Any, tenant: Any) -> None:
    first = _send(tenant, "POST", "/v1/rules", {"name": "onboarding"}, "key-1")
    second = _send(tenant, "POST", "/v1/rules", {"name": "onboarding"}, "key-1")
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert second.status_code == first.status_code
    assert second.content == first.content  # same body, the first RequestId included
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert _rules(runtime, tenant.app_id) == 1
    # without a key, the same body does the work again
    assert _send(tenant, "POST", "/v1/rules", {"name": "onboarding-2"}, None).status_code == 200
    assert _rules(runtime, tenant.app_id) == 2


def test_put_with_a_key_changes_the_rule_once(runtime: Any, tenant: Any) -> None:
    rule_id = tenant.post("/v1/rules", {"name": "r"}).json()["rule_id"]
    path = f"/v1/rules/{rule_id}"
    answers = [
        _send(tenant, "PUT", path, {"name": "r", "config": {"compare_threshold": 75}}, "put-1") for _ in range(3)
    ]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    history = tenant.get(f"{path}/history").json()["changes"]
    assert len(history) == 2  # created + one change, not three


def test_same_key_with_another_body_is_refused(tenant: Any) -> None:
    assert _send(tenant, "POST", "/v1/rules", {"name": "a"}, "key-2").status_code == 200
    other = _send(tenant, "POST", "/v1/rules", {"name": "b"}, "key-2")
    assert other.status_code == 422
    assert other.json()["Error"]["Code"] == "InvalidParameterValue.IdempotencyKeyReused"


def test_keys_belong_to_one_app(runtime: Any, make_tenant: Any) -> None:
    one, two = make_tenant("one"), make_tenant("two")
    assert _send(one, "POST", "/v1/rules", {"name": "a"}, "shared").status_code == 200
    answer = _send(two, "POST", "/v1/rules", {"name": "a"}, "shared")
    assert answer.status_code == 200 and "idempotent-replayed" not in answer.headers
    assert _rules(runtime, two.app_id) == 1


def test_a_4xx_is_not_stored_and_the_key_can_be_retried(runtime: Any, tenant: Any) -> None:
    bad = {"name": "x", "config": {"compare_threshold": "not a number"}}
    first = _send(tenant, "POST", "/v1/rules", bad, "key-3")
    assert first.status_code == 400
    assert _rows(runtime) == []
    again = _send(tenant, "POST", "/v1/rules", bad, "key-3")
    assert again.status_code == 400 and "idempotent-replayed" not in again.headers
    fixed = _send(tenant, "POST", "/v1/rules", {"name": "x"}, "key-3")
    assert fixed.status_code == 200
    assert _rules(runtime, tenant.app_id) == 1


def test_answer_is_stored_encrypted_and_expires_with_the_policy(runtime: Any, tenant: Any) -> None:
    answer = _send(tenant, "POST", "/v1/rules", {"name": "PLANTED-RULE-NAME"}, "key-4")
    assert answer.status_code == 200
    [row] = _rows(runtime)
    assert row.state == store.DONE and row.status_code == 200
    assert row.response_enc is not None and b"PLANTED-RULE-NAME" not in row.response_enc
    # OPENKYC_IDEMPOTENCY_TTL_SECONDS is 24 h, capped by the policy's 2 h for face images
    assert row.expires_at - row.created_at == timedelta(hours=2)
    with runtime.transaction() as session:
        assert store.purge_expired(session, row.created_at + timedelta(hours=1)) == 0
        assert store.purge_expired(session, row.expires_at) == 1
    assert _rows(runtime) == []
    # once purged, the key is free again (another body is no longer "reused")
    again = _send(tenant, "POST", "/v1/rules", {"name": "another"}, "key-4")
    assert again.status_code == 200 and "idempotent-replayed" not in again.headers
    assert _rules(runtime, tenant.app_id) == 2


def test_an_expired_row_is_taken_over(runtime: Any, tenant: Any) -> None:
    assert _send(tenant, "POST", "/v1/rules", {"name": "a"}, "key-5").status_code == 200
    [row] = _rows(runtime)
    with runtime.transaction() as session:
        answer = store.claim(
            session, runtime.keyring, tenant.app_id, "key-5", "other-hash", row.expires_at, timedelta(hours=1)
        )
    assert answer is None  # the new request owns the key (no "reused" error for an expired one)


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
def test_malformed_keys_are_refused(tenant: Any, key: str) -> None:
    body = json.dumps({"name": "a"}).encode()
    headers = tenant.sign("POST", "/v1/rules", body, nonce=True)
    answer = tenant.client.post(
        "/v1/rules", content=body, headers=[*headers.items(), ("Idempotency-Key", key.encode())]
    )
    assert answer.status_code == 400
    assert answer.json()["Error"]["Code"] == "InvalidParameterValue.IdempotencyKey"


def test_reads_ignore_the_key(runtime: Any, tenant: Any) -> None:
    headers = tenant.sign("GET", "/v1/account", b"", nonce=True)
    headers["Idempotency-Key"] = "read"
    assert tenant.client.get("/v1/account", headers=headers).status_code == 200
    assert _rows(runtime) == []


# --- concurrency -------------------------------------------------------------------------------


@pytest.fixture
def slow_client(runtime: Any, settings: Any) -> Iterator[tuple[TestClient, list[int]]]:
    """The real app plus a slow write that counts how often it ran."""
    app = create_app(settings, runtime)
    runs: list[int] = []

    @app.post("/v1/test-slow", name="TestSlow")
    def _slow() -> dict[str, int]:
        runs.append(1)
        time.sleep(0.6)
        return {"runs": len(runs)}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, runs


def test_concurrent_same_key_runs_once(make_tenant: Any, slow_client: tuple[TestClient, list[int]]) -> None:
    client, runs = slow_client
    tenant = make_tenant("concurrent")
    tenant.client = client
    answers: list[Any] = []

    def send(delay: float) -> None:
        time.sleep(delay)
        answers.append(_send(tenant, "POST", "/v1/test-slow", {}, "same"))

    threads = [threading.Thread(target=send, args=(delay,)) for delay in (0.0, 0.2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)  # generous: a loaded machine may take seconds to run either request
    assert len(answers) == 2, "a request did not answer"
    assert len(runs) == 1
    codes = sorted(a.status_code for a in answers)
    assert codes in ([200, 409], [200, 200])
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["Error"]["Code"] == "ResourceInUse.IdempotencyKey"
            assert answer.headers["Retry-After"] == "1"
    # after the first finished, a retry gets its answer
    replay = _send(tenant, "POST", "/v1/test-slow", {}, "same")
    assert replay.status_code == 200 and replay.json() == {"runs": 1}
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(runs) == 1
