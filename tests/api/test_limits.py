"""Per-app rate and monthly quota, per-address limit on /verify/, trusted X-Forwarded-For."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import select

from openkyc.accounts import service as accounts
from openkyc.api.app import create_app
from openkyc.api.deps import metered
from openkyc.store.models.diagnostics import CallRecord
from openkyc.usage.limits import seconds_to_next_month


def _configure(runtime: Any, **changes: Any) -> None:
    """Settings for this test's gateway (read on the first request, so set them before it)."""
    runtime.settings = type(runtime.settings)(**{**runtime.settings.model_dump(), **changes})


def _set_limits(runtime: Any, app_id: int, **limits: Any) -> None:
    with runtime.transaction() as session:
        accounts.set_app_limits(session, app_id, **limits)


@pytest.fixture
def metered_client(runtime: Any, settings: Any) -> Iterator[TestClient]:
    """The real app plus one cheap billable route (the real metered routes need face models)."""
    app = create_app(settings, runtime)

    @app.post("/v1/test-metered", name="TestMetered")
    def _metered(request: Request) -> dict[str, bool]:
        metered(request)
        return {"ok": True}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _tenant_on(make_tenant: Any, client: TestClient, name: str) -> Any:
    return dataclasses.replace(make_tenant(name), client=client)


def test_app_qps_limit_answers_429_with_retry_after(runtime: Any, make_tenant: Any) -> None:
    tenant = make_tenant("qps")
    other = make_tenant("unlimited")
    _set_limits(runtime, tenant.app_id, qps_limit=1)
    answers = [tenant.get("/v1/account") for _ in range(4)]
    assert answers[0].status_code == 200
    refused = [a for a in answers[1:] if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    for answer in refused:
        assert answer.json()["Error"]["Code"] == "RequestLimitExceeded"
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.json()["RequestId"] == answer.headers["x-request-id"]
    # another app is counted on its own
    assert all(other.get("/v1/account").status_code == 200 for _ in range(4))


def test_default_qps_applies_to_apps_without_their_own(runtime: Any, make_tenant: Any) -> None:
    _configure(runtime, default_qps_limit=1)
    defaulted = make_tenant("defaulted")
    own = make_tenant("own")
    _set_limits(runtime, own.app_id, qps_limit=1000)
    assert any(defaulted.get("/v1/account").status_code == 429 for _ in range(4))
    assert all(own.get("/v1/account").status_code == 200 for _ in range(4))


def test_refused_calls_are_recorded_with_the_app(runtime: Any, make_tenant: Any) -> None:
    tenant = make_tenant("recorded")
    _set_limits(runtime, tenant.app_id, qps_limit=1)
    answers = [tenant.get("/v1/account") for _ in range(4)]
    refused_ids = {a.headers["x-request-id"] for a in answers if a.status_code == 429}
    assert refused_ids
    with runtime.transaction() as session:
        records = session.scalars(select(CallRecord).where(CallRecord.request_id.in_(refused_ids))).all()
    assert {r.app_id for r in records} == {tenant.app_id}
    assert {r.error_code for r in records} == {"RequestLimitExceeded"}


def test_monthly_quota_counts_billable_calls(runtime: Any, make_tenant: Any, metered_client: TestClient) -> None:
    tenant = _tenant_on(make_tenant, metered_client, "quota")
    _set_limits(runtime, tenant.app_id, monthly_quota=2)
    assert tenant.post("/v1/test-metered").status_code == 200
    assert tenant.get("/v1/account").status_code == 200  # not billable: does not count
    assert tenant.post("/v1/test-metered").status_code == 200
    refused = tenant.post("/v1/test-metered")
    assert refused.status_code == 429
    assert refused.json()["Error"]["Code"] == "RequestLimitExceeded.MonthlyQuota"
    expected = seconds_to_next_month(datetime.now(UTC))
    assert abs(int(refused.headers["Retry-After"]) - expected) <= 5
    assert tenant.get("/v1/account").status_code == 429  # every signed call waits for next month
    # the bill agrees: two billable calls
    with runtime.transaction() as session:
        billable = session.scalars(
            select(CallRecord).where(CallRecord.app_id == tenant.app_id, CallRecord.billable.is_(True))
        ).all()
    assert len(billable) == 2
    # raising the quota lets the app call again, counting from the same month's total
    _set_limits(runtime, tenant.app_id, monthly_quota=3)
    assert tenant.post("/v1/test-metered").status_code == 200
    assert tenant.post("/v1/test-metered").status_code == 429


def test_monthly_quota_is_seeded_from_call_records(runtime: Any, make_tenant: Any, metered_client: TestClient) -> None:
    """A fresh process (in-memory counters) does not hand out a new month."""
    tenant = _tenant_on(make_tenant, metered_client, "seeded")
    now = datetime.now(UTC)
    last_month = datetime(now.year - (now.month == 1), (now.month - 2) % 12 + 1, 15, tzinfo=UTC)
    with runtime.transaction() as session:
        for created, billable in [(now, True), (now, True), (now, False), (last_month, True)]:
            session.add(
                CallRecord(
                    request_id=str(uuid.uuid4()),
                    app_id=tenant.app_id,
                    action="TestMetered",
                    method="POST",
                    route="/v1/test-metered",
                    status_code=200,
                    billable=billable,
                    duration_ms=1.0,
                    created_at=created,
                )
            )
    _set_limits(runtime, tenant.app_id, monthly_quota=3)
    assert tenant.post("/v1/test-metered").status_code == 200  # 2 this month + this one = 3
    answer = tenant.post("/v1/test-metered")
    assert answer.status_code == 429
    assert answer.json()["Error"]["Code"] == "RequestLimitExceeded.MonthlyQuota"


def test_zero_quota_refuses_and_default_quota_applies(runtime: Any, make_tenant: Any) -> None:
    _configure(runtime, default_monthly_quota=0)
    blocked = make_tenant("blocked")
    freed = make_tenant("freed")
    _set_limits(runtime, freed.app_id, monthly_quota=10)
    assert blocked.get("/v1/account").status_code == 429
    assert freed.get("/v1/account").status_code == 200


# --- per-address limit on /verify/ and X-Forwarded-For ---------------------------------------


def _client(runtime: Any, settings: Any, peer: str) -> TestClient:
    return TestClient(create_app(settings, runtime), raise_server_exceptions=False, client=(peer, 50000))


def test_verify_pages_are_limited_per_address(runtime: Any, settings: Any) -> None:
    _configure(runtime, verify_rate_limit="3/minute")
    with _client(runtime, settings, "192.0.2.10") as client:
        codes = [client.get(f"/verify/no-such-token-{i}").status_code for i in range(3)]
        assert 429 not in codes
        refused = client.get("/verify/no-such-token")
        assert refused.status_code == 429
        assert refused.json()["Error"]["Code"] == "RequestLimitExceeded.ClientAddress"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert client.post("/verify/no-such-token/submit", json={}).status_code == 429
        assert client.get("/v1/health").status_code == 200  # only /verify/ is limited per address
    with _client(runtime, settings, "192.0.2.11") as client:
        assert client.get("/verify/no-such-token").status_code != 429  # another address


def test_forwarded_for_is_ignored_from_an_untrusted_peer(runtime: Any, settings: Any) -> None:
    _configure(runtime, verify_rate_limit="2/minute", trusted_proxies=[])
    with _client(runtime, settings, "192.0.2.20") as client:
        codes = [client.get("/verify/t", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(4)]
        last = client.get("/verify/t", headers={"X-Forwarded-For": "198.51.100.99"})
    assert codes[2:] == [429, 429]  # a new forged address each time does not escape the limit
    with runtime.transaction() as session:
        record = session.get(CallRecord, last.headers["x-request-id"])
    assert record is not None and record.client_ip == "192.0.2.20"


def test_forwarded_for_from_a_trusted_proxy_names_the_client(runtime: Any, settings: Any) -> None:
    _configure(runtime, verify_rate_limit="2/minute", trusted_proxies=["10.0.0.0/8"])
    with _client(runtime, settings, "10.0.0.5") as client:
        # forged left-most entries are skipped: the right-most untrusted address is the client
        first = [
            client.get("/verify/t", headers={"X-Forwarded-For": f"6.6.6.{i}, 203.0.113.7, 10.1.2.3"}).status_code
            for i in range(3)
        ]
        other = client.get("/verify/t", headers={"X-Forwarded-For": "203.0.113.8"})
    assert first[2] == 429
    assert other.status_code != 429
    with runtime.transaction() as session:
        record = session.get(CallRecord, other.headers["x-request-id"])
    assert record is not None and record.client_ip == "203.0.113.8"


def test_counters_live_in_redis_when_configured(runtime: Any, make_tenant: Any) -> None:
    from limits.storage import RedisStorage

    from openkyc.api.gateway import request_limits

    url = "redis://127.0.0.1:6379/15"
    if not RedisStorage(url, socket_connect_timeout=0.5).check():
        pytest.skip("no Redis at 127.0.0.1:6379")
    _configure(runtime, redis_url=url)
    tenant = make_tenant("redis")
    _set_limits(runtime, tenant.app_id, qps_limit=1)
    assert any(tenant.get("/v1/account").status_code == 429 for _ in range(4))
    assert request_limits(runtime).shared
