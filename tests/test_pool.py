"""The model pool: one thread per instance, a bounded first-come-first-served queue, 503 when full."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from openkyc.errors import ServerBusy
from openkyc.pool import ModelPool


class Model:
    """Fails loudly if two threads are inside it at once (what OpenCV's models cannot take)."""

    built = 0

    def __init__(self) -> None:
        Model.built += 1
        self.inside = 0
        self.calls = 0

    def run(self, seconds: float) -> None:
        self.inside += 1
        try:
            assert self.inside == 1, "two threads in one model instance"
            time.sleep(seconds)
            self.calls += 1
        finally:
            self.inside -= 1


def make_pool(size: int = 2, queue_size: int = 8, timeout_s: float = 5.0) -> ModelPool[Model]:
    Model.built = 0
    return ModelPool(Model, size=size, queue_size=queue_size, timeout_s=timeout_s)


def test_no_instance_is_used_by_two_threads_and_at_most_size_are_built() -> None:
    pool = make_pool(size=2, queue_size=32)

    def work(_: int) -> None:
        with pool.lease() as model:
            model.run(0.005)

    with ThreadPoolExecutor(16) as executor:
        list(executor.map(work, range(64)))
    assert Model.built == 2
    assert sum(m.calls for m in pool.idle()) == 64
    stats = pool.stats()
    assert (stats.built, stats.in_use, stats.waiting, stats.refused) == (2, 0, 0, 0)


def test_a_full_queue_is_refused_at_once_with_retry_after() -> None:
    pool = make_pool(size=1, queue_size=1, timeout_s=10.0)
    release = threading.Event()
    holding = threading.Event()

    def hold() -> None:
        with pool.lease():
            holding.set()
            release.wait(5)

    def wait_in_queue() -> float:
        started = time.monotonic()
        with pool.lease():
            return time.monotonic() - started

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    with ThreadPoolExecutor(1) as executor:
        queued = executor.submit(wait_in_queue)
        for _ in range(100):
            if pool.stats().waiting == 1:
                break
            time.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(ServerBusy) as refused:
            with pool.lease():
                pass
        assert time.monotonic() - started < 0.5  # answered at once, not after the timeout
        assert refused.value.status_code == 503 and refused.value.error_code == "ResourceUnavailable.ServerBusy"
        assert refused.value.retry_after is not None and refused.value.retry_after >= 1
        release.set()
        assert queued.result(5) < 5  # the queued request was served when the instance came back
    holder.join()
    assert pool.stats().refused == 1


def test_a_wait_longer_than_the_timeout_is_refused() -> None:
    pool = make_pool(size=1, queue_size=4, timeout_s=0.2)
    release = threading.Event()
    holding = threading.Event()

    def hold() -> None:
        with pool.lease():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    started = time.monotonic()
    with pytest.raises(ServerBusy):
        with pool.lease():
            pass
    waited = time.monotonic() - started
    release.set()
    holder.join()
    assert 0.15 < waited < 2.0
    assert pool.stats().waiting == 0


def test_waiters_are_served_first_come_first_served() -> None:
    pool = make_pool(size=1, queue_size=8, timeout_s=5.0)
    order: list[int] = []
    release = threading.Event()
    holding = threading.Event()

    def hold() -> None:
        with pool.lease():
            holding.set()
            release.wait(5)

    def take(i: int) -> None:
        with pool.lease():
            order.append(i)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    threads = []
    for i in range(5):
        thread = threading.Thread(target=take, args=(i,))
        thread.start()
        threads.append(thread)
        while pool.stats().waiting < i + 1:  # each joins the queue before the next arrives
            time.sleep(0.005)
    release.set()
    for thread in [holder, *threads]:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_failed_build_frees_its_slot() -> None:
    attempts = {"n": 0}

    def flaky() -> Model:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise RuntimeError("model file damaged")
        return Model()

    pool: ModelPool[Model] = ModelPool(flaky, size=1, queue_size=1, timeout_s=1.0)
    with pytest.raises(RuntimeError):
        with pool.lease():
            pass
    with pool.lease() as model:  # the slot came back: a new build is tried
        model.run(0)
    assert pool.stats().built == 1


def test_an_error_inside_the_lease_returns_the_instance() -> None:
    pool = make_pool(size=1, queue_size=0, timeout_s=1.0)
    with pytest.raises(ValueError):
        with pool.lease():
            raise ValueError("bad input")
    with pool.lease() as model:
        model.run(0)
    assert Model.built == 1


@pytest.mark.parametrize(("size", "queue_size", "timeout_s"), [(0, 1, 1.0), (1, -1, 1.0), (1, 1, 0.0)])
def test_bad_pool_settings_are_refused(size: int, queue_size: int, timeout_s: float) -> None:
    with pytest.raises(ValueError):
        ModelPool(Model, size=size, queue_size=queue_size, timeout_s=timeout_s)
