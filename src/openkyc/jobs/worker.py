"""The job worker (``openkyc worker``): RQ's ``SimpleWorker`` over the ``openkyc`` queue.

A ``SimpleWorker`` runs each job in its own process, without forking, so the runtime (database
engine, unwrapped keys, models once loaded) is opened once and reused. RQ's scheduler (started
with the worker) re-enqueues webhook retries at their backoff times, and a job whose worker died
mid-run is retried by RQ's clean-up when it has retries left.

Periodic retention sweeps: a small loop in the worker enqueues one sweep every
``OPENKYC_RETENTION_SWEEP_SECONDS``; the API processes then run none. With several workers each
one enqueues its own, and the sweep's lock (a PostgreSQL advisory lock) lets exactly one run at a
time: the others find it held and skip.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from openkyc.jobs.queue import QUEUE_NAME, RedisJobs, redis_connection
from openkyc.jobs.tasks import TASKS
from openkyc.runtime import Runtime
from openkyc.settings import Settings

__all__ = ["SweepTicker", "perform", "run_worker"]

log = logging.getLogger("openkyc.jobs.worker")

MAINTENANCE_SECONDS = 60
_context: dict[str, Runtime] = {}  # the worker process's runtime, set by run_worker


def perform(task: str, kwargs: dict[str, Any]) -> Any:
    """What every RQ job calls: the task with this worker's runtime."""
    runtime = _context.get("runtime")
    if runtime is None:
        raise RuntimeError("openkyc jobs run inside `openkyc worker` only")
    return TASKS[task](runtime, **kwargs)


class SweepTicker:
    """Enqueues a retention sweep every ``interval`` seconds (first one at start) until stopped."""

    def __init__(self, jobs: RedisJobs, interval: float) -> None:
        self.jobs = jobs
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="openkyc-sweep-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.jobs.enqueue_sweep()
            except Exception:  # Redis away for a moment: try again at the next tick
                log.exception("could not enqueue the retention sweep")
            self._stop.wait(self.interval)


def run_worker(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    burst: bool = False,
    schedule_sweeps: bool = True,
    queue_name: str = QUEUE_NAME,
) -> bool:
    """Work the queue until stopped (or, with ``burst``, until it is empty). True if a job ran."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    if not settings.redis_url:
        raise ValueError("the job worker needs OPENKYC_REDIS_URL")
    opened = runtime is None
    runtime = runtime or Runtime.open(settings)
    connection = redis_connection(settings.redis_url)
    ticker = None
    if schedule_sweeps and not burst:
        ticker = SweepTicker(RedisJobs(connection, queue_name=queue_name), settings.retention_sweep_seconds)
        ticker.start()
    _context["runtime"] = runtime
    RedisJobs(connection, queue_name=queue_name).requeue_webhooks(runtime)  # the outbox: lost enqueues
    try:
        # maintenance every minute (RQ's default is 10): a job whose worker was killed mid-run is
        # found and retried within about a minute of its timeout instead of ten
        worker = SimpleWorker(
            [queue_name], connection=connection, serializer=JSONSerializer, maintenance_interval=MAINTENANCE_SECONDS
        )
        return bool(worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level))
    finally:
        _context.pop("runtime", None)
        if ticker is not None:
            ticker.stop()
        if opened:
            runtime.close()
