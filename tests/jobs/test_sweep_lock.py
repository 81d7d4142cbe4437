"""Exactly one retention sweep at a time: a process lock, and on PostgreSQL an advisory lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from openkyc.errors import SweepInProgress
from openkyc.jobs.tasks import retention_sweep
from openkyc.privacy.sweep import STEPS, SweepContext, run_sweep
from openkyc.runtime import Runtime


class Blocking:
    """A sweep step that waits inside the sweep's transaction until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, ctx: SweepContext) -> int:
        self.entered.set()
        assert self.release.wait(20)
        return 0


def _hold_sweep(runtime: Runtime, step: Blocking) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(run_sweep(runtime.sweeper, steps=[*STEPS, ("hold", step)])))
    thread.start()
    assert step.entered.wait(20)
    return thread, results


def test_second_sweep_in_the_process_skips(runtime: Runtime) -> None:
    step = Blocking()
    thread, results = _hold_sweep(runtime, step)
    try:
        with pytest.raises(SweepInProgress):
            run_sweep(runtime.sweeper)
        assert retention_sweep(runtime) is None  # the job form logs and skips
    finally:
        step.release.set()
        thread.join(20)
    assert len(results) == 1 and results[0].counts["hold"] == 0
    assert run_sweep(runtime.sweeper).total >= 0  # the lock is free again


@pytest.fixture
def second_runtime(settings: Any) -> Iterator[Runtime]:
    """Another runtime on the same database: what a second process holds (own process lock)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the cross-process advisory lock is PostgreSQL's; SQLite is one process")
    other = Runtime.open(settings, migrate=False)
    yield other
    other.close()


def test_advisory_lock_makes_the_other_process_skip(runtime: Runtime, second_runtime: Runtime) -> None:
    step = Blocking()
    thread, results = _hold_sweep(runtime, step)
    try:
        with pytest.raises(SweepInProgress):
            run_sweep(second_runtime.sweeper)
        assert retention_sweep(second_runtime) is None
    finally:
        step.release.set()
        thread.join(20)
    assert len(results) == 1
    assert retention_sweep(second_runtime) is not None  # released with the transaction
