"""Request limits: per-app rate (QPS) and monthly quota, per-address rate on the ``/verify/`` pages.

Counted with the `limits` library: in Redis when ``OPENKYC_REDIS_URL`` is set (shared by every API
process), in process memory otherwise (the embedded single-process default).

* **Rate**: a sliding-window counter per app over one second (``qps_limit`` of the app, or
  ``OPENKYC_DEFAULT_QPS_LIMIT``); a refused request does not use up the window.
* **Monthly quota**: a counter per (app, ``yyyy-mm`` of the UTC calendar month) of billable calls
  (2xx answers of metered actions, as on the bill). The first time a process (or Redis) meets a
  month's counter it is seeded once from the call records, so a restart of an in-memory process
  or a Redis flush does not hand out a fresh month; after that each billable call adds one, so no
  request pays for a count over the month's call records. The check is made before the route
  runs and the count is added after it answers, so calls already in flight when the quota is
  reached may pass it by that many.
* **Per address** on ``/verify/`` (``OPENKYC_VERIFY_RATE_LIMIT``, e.g. ``30/minute``): the hosted
  pages have no credential, so the client address (see ``openkyc.api.clients``) is the key.

When the storage fails (Redis down), requests are let through and the failure is logged: limits
protect capacity, and an outage of the counter store must not become an outage of the service.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerSecond, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openkyc.errors import RequestLimitExceeded
from openkyc.store.models.diagnostics import CallRecord

log = logging.getLogger("openkyc.usage")

# A month's counter outlives the longest month; its key carries yyyy-mm, so a new month starts at 0.
_MONTH_COUNTER = RateLimitItemPerDay(2**40, 32, namespace="openkyc-month")
_MONTH_SEEDED = RateLimitItemPerDay(1, 32, namespace="openkyc-month-seeded")

CountBillable = Callable[[int, datetime], int]


def month_key(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")


def month_start(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def seconds_to_next_month(now: datetime) -> int:
    start = month_start(now)
    following = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    return max(1, math.ceil((following - now).total_seconds()))


def billable_calls_since(session: Session, app_id: int, since: datetime) -> int:
    """Billable calls of the app recorded since ``since`` (what the bill counts)."""
    count = session.scalar(
        select(func.count())
        .select_from(CallRecord)
        .where(CallRecord.app_id == app_id, CallRecord.billable.is_(True), CallRecord.created_at >= since)
    )
    return int(count or 0)


def make_storage(redis_url: str | None) -> Storage:
    if redis_url:
        return RedisStorage(redis_url, wrap_exceptions=True, socket_timeout=1.0, socket_connect_timeout=1.0)
    return MemoryStorage()


class RequestLimits:
    """The counters of one deployment; thread-safe (the storage is)."""

    def __init__(
        self,
        storage: Storage,
        *,
        count_billable: CountBillable,
        default_qps: int | None = None,
        default_quota: int | None = None,
        verify_rate: str | None = None,
    ) -> None:
        self.storage = storage
        self.shared = not isinstance(storage, MemoryStorage)
        self._count_billable = count_billable
        self._default_qps = default_qps
        self._default_quota = default_quota
        self._verify_items: list[RateLimitItem] = parse_many(verify_rate) if verify_rate else []
        self._sliding = SlidingWindowCounterRateLimiter(storage)
        self._fixed = FixedWindowRateLimiter(storage)
        self._seeded: set[tuple[int, str]] = set()
        self._seed_lock = threading.Lock()
        self._last_warning = 0.0

    def __repr__(self) -> str:
        return f"RequestLimits(storage={type(self.storage).__name__})"

    # --- checks (raise RequestLimitExceeded with retry_after) --------------------------------

    def check_app(self, app_id: int, qps_limit: int | None, monthly_quota: int | None, now: datetime) -> None:
        """Before the route: the app's rate, then its monthly quota."""
        qps = qps_limit if qps_limit is not None else self._default_qps
        quota = monthly_quota if monthly_quota is not None else self._default_quota
        try:
            if qps is not None:
                item = RateLimitItemPerSecond(qps, namespace="openkyc-qps")
                if not self._sliding.hit(item, str(app_id)):
                    raise RequestLimitExceeded(
                        "The app's request rate limit is exceeded.", retry_after=self._retry_after(item, str(app_id))
                    )
            if quota is not None and self.month_count(app_id, now) >= quota:
                raise RequestLimitExceeded(
                    "The app's monthly quota of billable calls is used up.",
                    code="RequestLimitExceeded.MonthlyQuota",
                    retry_after=seconds_to_next_month(now),
                )
        except StorageError:
            self._storage_failed()

    def check_address(self, address: str | None) -> None:
        """Before a ``/verify/`` page: the per-address rate."""
        if not self._verify_items:
            return
        key = address or "unknown"
        try:
            for item in self._verify_items:
                if not self._sliding.hit(item, "verify", key):
                    raise RequestLimitExceeded(
                        "Too many requests from this address.",
                        code="RequestLimitExceeded.ClientAddress",
                        retry_after=self._retry_after(item, "verify", key),
                    )
        except StorageError:
            self._storage_failed()

    # --- the monthly counter -------------------------------------------------------------------

    def month_count(self, app_id: int, now: datetime) -> int:
        month = month_key(now)
        self._seed(app_id, month, now)
        stats = self._fixed.get_window_stats(_MONTH_COUNTER, str(app_id), month)
        return _MONTH_COUNTER.amount - stats.remaining

    def record_billable(self, app_id: int, now: datetime) -> None:
        """After a billable 2xx answer (before its call record is written)."""
        month = month_key(now)
        try:
            self._seed(app_id, month, now)
            self._fixed.hit(_MONTH_COUNTER, str(app_id), month)
        except StorageError:
            self._storage_failed()

    def _seed(self, app_id: int, month: str, now: datetime) -> None:
        """Once per (app, month) and storage: the month's billable calls so far, from the records."""
        if (app_id, month) in self._seeded:
            return
        with self._seed_lock:
            if (app_id, month) in self._seeded:
                return
            # An atomic first-comer flag in the storage: with Redis only one process seeds.
            if self._fixed.hit(_MONTH_SEEDED, str(app_id), month):
                count = self._count_billable(app_id, month_start(now))
                if count:
                    self._fixed.hit(_MONTH_COUNTER, str(app_id), month, cost=count)
            self._seeded.add((app_id, month))

    # --- helpers -----------------------------------------------------------------------------------

    def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        try:
            reset = self._sliding.get_window_stats(item, *identifiers).reset_time
        except StorageError:
            reset = 0.0
        return max(1, math.ceil(reset - time.time()))

    def _storage_failed(self) -> None:
        now = time.monotonic()
        if now - self._last_warning > 60:
            self._last_warning = now
            log.error("request-limit storage unavailable; requests are not being limited")
