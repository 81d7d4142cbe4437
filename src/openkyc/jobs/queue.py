"""Where jobs go: Redis (RQ, run by ``openkyc worker``) or this process's background thread.

:class:`Jobs` is the small interface the services call. :func:`open_jobs` picks the backend from
the settings: :class:`RedisJobs` when ``OPENKYC_REDIS_URL`` is set, :class:`LocalJobs` otherwise
(the embedded default). Both run the functions of :mod:`openkyc.jobs.tasks` with the same retry
schedule; only the local one loses what is still queued when the process stops.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from openkyc.jobs import webhooks
from openkyc.jobs.tasks import TASKS

if TYPE_CHECKING:
    from redis import Redis

    from openkyc.runtime import Runtime
    from openkyc.settings import Settings

__all__ = ["QUEUE_NAME", "Jobs", "LocalJobs", "RedisJobs", "jobs_for", "open_jobs"]

log = logging.getLogger("openkyc.jobs")

QUEUE_NAME = "openkyc"
JOB_TIMEOUT_SECONDS = {"retention_sweep": 3600, "webhook": 60, "rotate_template_key": 6 * 3600}
_PENDING = "openkyc.jobs.after_commit"
_LISTENING = "openkyc.jobs.listening"


class Jobs(ABC):
    """Enqueue background work. Methods return at once; the work runs elsewhere, later."""

    def __init__(self, backoff: Sequence[int] = webhooks.BACKOFF_SECONDS) -> None:
        self.backoff = tuple(backoff)

    @abstractmethod
    def submit(self, task: str, kwargs: dict[str, Any], *, retries: Sequence[int] = ()) -> None:
        """Run ``TASKS[task](runtime, **kwargs)``; retry after each of ``retries`` seconds on failure."""

    @abstractmethod
    def close(self) -> None:
        """Stop background threads (the local backend); nothing to do for Redis."""

    def enqueue_webhook(self, delivery_id: str, *, base: int = 0, after_commit: Session | None = None) -> None:
        """Deliver the outbox row ``delivery_id``, with retries and backoff.

        With ``after_commit`` it is enqueued only once that session's transaction commits (the row
        was written in it), and dropped if it rolls back (the row goes with it): the receiver is
        never told of a result that was not stored, and a lost enqueue is recovered from the row.
        """
        kwargs = {"delivery_id": delivery_id, "base": base, "schedule": list(self.backoff)}
        self._when_committed(after_commit, lambda: self.submit("webhook", kwargs, retries=self.backoff))

    def notify(
        self, session: Session, *, app_id: int, url: str | None, event: str, payload: dict[str, Any], now: datetime
    ) -> str | None:
        """An event happened in ``session``: an outbox row for the rule's ``webhook_url`` (if any),
        delivered after the commit. Returns the delivery id."""
        if not url:
            return None
        delivery_id = webhooks.record(session, app_id=app_id, url=url, event=event, payload=payload, now=now)
        self.enqueue_webhook(delivery_id, after_commit=session)
        return delivery_id

    def notify_result(
        self,
        session: Session,
        *,
        app_id: int,
        url: str | None,
        verification_id: str,
        kind: str,
        result: str,
        created_at: datetime,
    ) -> str | None:
        """A verification result was stored in ``session``: tell the rule's ``webhook_url`` (if any)."""
        payload = webhooks.result_payload(
            verification_id=verification_id, kind=kind, result=result, created_at=created_at
        )
        return self.notify(
            session, app_id=app_id, url=url, event=webhooks.RESULT_EVENT, payload=payload, now=created_at
        )

    def requeue_webhooks(self, runtime: Runtime) -> int:
        """Enqueues outbox rows whose job was lost (a process died between commit and enqueue)."""
        return webhooks.requeue_stale(
            runtime.transaction, runtime.clock, lambda delivery_id, base: self.enqueue_webhook(delivery_id, base=base)
        )

    def enqueue_sweep(self) -> None:
        self.submit("retention_sweep", {})

    def enqueue_template_rotation(self, app_id: int) -> None:
        self.submit("rotate_template_key", {"app_id": app_id})

    def _when_committed(self, session: Session | None, action: Callable[[], None]) -> None:
        if session is None:
            action()
            return
        if not session.info.get(_LISTENING):
            session.info[_LISTENING] = True
            event.listen(session, "after_commit", _run_pending)
            event.listen(session, "after_rollback", _drop_pending)
        session.info.setdefault(_PENDING, []).append(action)


def _run_pending(session: Session) -> None:
    for action in session.info.pop(_PENDING, []):
        try:
            action()
        except Exception:  # the data is committed; a lost notification must not turn it into an error
            log.exception("a job could not be enqueued after commit")


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


class LocalJobs(Jobs):
    """The embedded default: one daemon thread runs jobs in due order, retrying with the backoff."""

    def __init__(self, runtime: Runtime, backoff: Sequence[int] = webhooks.BACKOFF_SECONDS) -> None:
        super().__init__(backoff)
        self.runtime = runtime
        self.done = 0
        self.failed = 0
        self._heap: list[tuple[float, int, str, dict[str, Any], int, tuple[int, ...]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LocalJobs(queued={len(self._heap)}, done={self.done}, failed={self.failed})"

    def submit(self, task: str, kwargs: dict[str, Any], *, retries: Sequence[int] = ()) -> None:
        if task not in TASKS:
            raise ValueError(f"unknown job {task!r}")
        with self._cond:
            if self._stopping:
                raise RuntimeError("the job thread is stopped")
            heapq.heappush(self._heap, (time.monotonic(), next(self._seq), task, kwargs, 0, tuple(retries)))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="openkyc-jobs", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def drain(self, timeout: float = 30.0) -> bool:
        """Waits until nothing is queued or running (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def close(self, timeout: float = 30.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        if self._heap:
            log.warning("in-process jobs dropped at shutdown", extra={"count": len(self._heap)})

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                if self._stopping:
                    return
                _, _, task, kwargs, attempt, retries = heapq.heappop(self._heap)
                self._busy = True
            try:
                TASKS[task](self.runtime, **kwargs)
            except Exception as exc:
                self._failed(task, kwargs, attempt, retries, exc)
            else:
                self.done += 1
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _failed(
        self, task: str, kwargs: dict[str, Any], attempt: int, retries: tuple[int, ...], exc: Exception
    ) -> None:
        if attempt < len(retries):
            with self._cond:
                due = time.monotonic() + retries[attempt]
                heapq.heappush(self._heap, (due, next(self._seq), task, kwargs, attempt + 1, retries))
            log.info("job failed, retrying", extra={"job": task, "attempt": attempt + 1, "error": type(exc).__name__})
            return
        self.failed += 1
        log.error("job failed, giving up", extra={"job": task, "attempts": attempt + 1, "error": type(exc).__name__})


class RedisJobs(Jobs):
    """Jobs on an RQ queue in Redis; ``openkyc worker`` runs them (and survives restarts)."""

    def __init__(
        self,
        connection: Redis,
        *,
        queue_name: str = QUEUE_NAME,
        backoff: Sequence[int] = webhooks.BACKOFF_SECONDS,
    ) -> None:
        from rq import Queue
        from rq.serializers import JSONSerializer

        super().__init__(backoff)
        self.queue = Queue(queue_name, connection=connection, serializer=JSONSerializer)

    def __repr__(self) -> str:
        return f"RedisJobs(queue={self.queue.name!r})"

    def close(self) -> None:
        self.queue.connection.close()

    def submit(self, task: str, kwargs: dict[str, Any], *, retries: Sequence[int] = ()) -> None:
        from rq import Retry

        if task not in TASKS:
            raise ValueError(f"unknown job {task!r}")
        self.queue.enqueue(
            "openkyc.jobs.worker.perform",
            task,
            kwargs,
            retry=Retry(max=len(retries), interval=list(retries)) if retries else None,
            job_timeout=JOB_TIMEOUT_SECONDS[task],
            result_ttl=24 * 3600,
            failure_ttl=3 * 24 * 3600,  # the policy keeps webhook attempts 3 days
            description=task,  # never the arguments: RQ shows the description in its tools
        )


def redis_connection(url: str) -> Redis:
    from redis import Redis

    return Redis.from_url(url)


def open_jobs(settings: Settings, runtime: Runtime) -> Jobs:
    """The backend the settings ask for: Redis when ``redis_url`` is set, this process otherwise."""
    if settings.redis_url:
        connection = redis_connection(settings.redis_url)
        connection.ping()  # fail at start-up, not at the first webhook
        return RedisJobs(connection)
    return LocalJobs(runtime)


def jobs_for(runtime: Runtime) -> Jobs:
    """The runtime's job queue, opened once per process (the app lifespan closes it)."""
    jobs: Jobs = runtime.component("jobs", lambda: open_jobs(runtime.settings, runtime))
    return jobs
