"""A bounded pool of model instances with a bounded, first-come-first-served queue in front.

OpenCV's ``FaceDetectorYN`` / ``FaceRecognizerSF``, the liveness checker built on them and the OCR
reader keep per-call state: one instance must never run in two threads at once. A service takes
an instance for the span of its model work with :meth:`ModelPool.lease` and gives it back at the
end. At most ``size`` instances exist in a process (built lazily, on first need). A request that
finds them all busy waits in a queue of at most ``queue_size``; when the queue is full, or the wait
passes ``timeout_s``, it is answered at once with :class:`~openkyc.errors.ServerBusy` (503 with a
``Retry-After`` estimated from recent lease times), never piled up. Each lease is recorded in the
request's :mod:`~openkyc.privacy.ledger` (models run only after the request's gate decision).

The pool is generic: the composition root decides what one instance holds (see
``openkyc.runtime.ModelSet``); each service names the narrow protocol it needs from it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from openkyc.errors import ServerBusy
from openkyc.privacy import ledger

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class PoolStats:
    size: int
    built: int
    in_use: int
    waiting: int
    refused: int


class ModelPool(Generic[T_co]):
    def __init__(
        self,
        factory: Callable[[], T_co],
        *,
        size: int,
        queue_size: int,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1 or queue_size < 0 or timeout_s <= 0:
            raise ValueError("pool size must be >= 1, queue size >= 0 and timeout > 0")
        self._factory = factory
        self.size = size
        self.queue_size = queue_size
        self.timeout_s = timeout_s
        self._clock = clock
        self._cond = threading.Condition()
        self._idle: list[T_co] = []
        self._built = 0  # instances built or being built
        self._in_use = 0
        self._queue: deque[object] = deque()  # waiting tickets, first come first served
        self._refused = 0
        self._mean_lease_s = 0.5  # moving average, for Retry-After

    def __repr__(self) -> str:
        return f"ModelPool(size={self.size}, queue_size={self.queue_size}, timeout_s={self.timeout_s})"

    def _can_take(self) -> bool:
        return bool(self._idle) or self._built < self.size

    def _busy(self) -> ServerBusy:
        self._refused += 1
        waits = (len(self._queue) + 1) / self.size
        return ServerBusy(retry_after=max(1, math.ceil(self._mean_lease_s * waits)))

    def _take(self) -> T_co | None:
        """Under the lock: an idle instance, or None with a build slot reserved."""
        self._in_use += 1
        if self._idle:
            return self._idle.pop()
        self._built += 1
        return None

    def _acquire(self) -> T_co | None:
        with self._cond:
            if not self._queue and self._can_take():
                return self._take()
            if len(self._queue) >= self.queue_size:
                raise self._busy()
            ticket = object()
            self._queue.append(ticket)
            deadline = self._clock() + self.timeout_s
            try:
                while not (self._queue[0] is ticket and self._can_take()):
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        raise self._busy()
                    self._cond.wait(remaining)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may be able to go now
            return self._take()

    @contextmanager
    def lease(self) -> Iterator[T_co]:
        """One instance for this thread alone until the block ends; ServerBusy when none comes.

        A lease is a touch of personal data (models only ever run on it) in the request's ledger:
        the request's gate decision must come first.
        """
        ledger.touched("models.lease", kind=ledger.MODEL)
        item = self._acquire()
        if item is None:
            try:
                item = self._factory()
            except BaseException:
                with self._cond:
                    self._built -= 1
                    self._in_use -= 1
                    self._cond.notify_all()
                raise
        started = self._clock()
        try:
            yield item
        finally:
            elapsed = self._clock() - started
            with self._cond:
                self._mean_lease_s = 0.9 * self._mean_lease_s + 0.1 * elapsed
                self._in_use -= 1
                self._idle.append(item)
                self._cond.notify_all()

    def warm(self, prepare: Callable[[T_co], object] | None = None, *, count: int = 1) -> None:
        """Builds ``count`` instances now (start-up; at most ``size``) and runs ``prepare`` on each
        (e.g. load its models), so no request pays for loading and a broken model stops start-up."""
        with ExitStack() as stack:
            for _ in range(min(count, self.size)):
                item = stack.enter_context(self.lease())
                if prepare is not None:
                    prepare(item)

    def idle(self) -> list[T_co]:
        """A snapshot of the instances not in use now (diagnostics and tests; do not call models on them)."""
        with self._cond:
            return list(self._idle)

    def stats(self) -> PoolStats:
        with self._cond:
            return PoolStats(self.size, self._built, self._in_use, len(self._queue), self._refused)
