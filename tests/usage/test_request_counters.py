"""The request counters: rate, monthly quota (seeded once from the records), Redis or memory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from limits.storage import MemoryStorage, RedisStorage, Storage

from openkyc.errors import RequestLimitExceeded
from openkyc.usage.limits import RequestLimits, month_key, seconds_to_next_month

REDIS_URL = "redis://127.0.0.1:6379/15"
NOW = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)


def _redis() -> Storage:
    storage = RedisStorage(REDIS_URL, wrap_exceptions=True, socket_connect_timeout=0.5)
    if not storage.check():
        pytest.skip("no Redis at 127.0.0.1:6379")
    return storage


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    yield MemoryStorage() if request.param == "memory" else _redis()


def _app() -> int:
    return uuid.uuid4().int % 10**12  # fresh keys in a shared Redis


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), 3600),
        (datetime(2026, 2, 28, 0, 0, tzinfo=UTC), 86400),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), 31 * 86400),
    ],
)
def test_seconds_to_next_month(now: datetime, seconds: int) -> None:
    assert seconds_to_next_month(now) == seconds
    assert month_key(now) == now.strftime("%Y-%m")


def test_quota_counts_billable_calls_and_seeds_once(storage: Storage) -> None:
    seeded: list[int] = []

    def count(app_id: int, since: datetime) -> int:
        seeded.append(app_id)
        return 2 if since == datetime(2026, 12, 1, tzinfo=UTC) else 0

    limits = RequestLimits(storage, count_billable=count)
    app = _app()
    limits.check_app(app, None, 4, NOW)  # 2 from the records
    limits.record_billable(app, NOW)
    limits.check_app(app, None, 4, NOW)  # 3
    limits.record_billable(app, NOW)
    with pytest.raises(RequestLimitExceeded) as refused:
        limits.check_app(app, None, 4, NOW)
    assert refused.value.error_code == "RequestLimitExceeded.MonthlyQuota"
    assert refused.value.retry_after == 3600
    assert seeded == [app]
    # a second process on the same storage does not seed again (with Redis it shares the count)
    other = RequestLimits(storage, count_billable=count)
    if isinstance(storage, RedisStorage):
        assert other.month_count(app, NOW) == 4
        assert seeded == [app]
    # next month starts from its own records
    assert limits.month_count(app, datetime(2027, 1, 1, tzinfo=UTC)) == 0
    limits.check_app(app, None, 4, datetime(2027, 1, 1, tzinfo=UTC))


def test_rate_per_app(storage: Storage) -> None:
    limits = RequestLimits(storage, count_billable=lambda *_: 0, default_qps=2)
    app, other = _app(), _app()
    limits.check_app(app, None, None, NOW)
    limits.check_app(app, None, None, NOW)
    with pytest.raises(RequestLimitExceeded) as refused:
        limits.check_app(app, None, None, NOW)
    assert refused.value.error_code == "RequestLimitExceeded"
    assert refused.value.retry_after is not None and refused.value.retry_after >= 1
    limits.check_app(other, None, None, NOW)
    limits.check_app(app, 100, None, NOW)  # the app's own limit wins over the default


def test_per_address(storage: Storage) -> None:
    limits = RequestLimits(storage, count_billable=lambda *_: 0, verify_rate="2/minute")
    address = f"192.0.2.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"
    limits.check_address(address)
    limits.check_address(address)
    with pytest.raises(RequestLimitExceeded) as refused:
        limits.check_address(address)
    assert 1 <= (refused.value.retry_after or 0) <= 60


def test_storage_down_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    dead = RedisStorage("redis://127.0.0.1:1/0", wrap_exceptions=True, socket_connect_timeout=0.2)
    limits = RequestLimits(dead, count_billable=lambda *_: 0, default_qps=1, verify_rate="1/minute")
    for _ in range(3):
        limits.check_app(1, None, 0, NOW)
        limits.check_address("192.0.2.1")
        limits.record_billable(1, NOW)
    assert "request-limit storage unavailable" in caplog.text
