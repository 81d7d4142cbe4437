"""Background jobs: signed webhooks with retries, in-process and through Redis (RQ), sweeps."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from jobs.receiver import Receiver, webhook_receiver
from openkyc.jobs import LocalJobs, RedisJobs, result_delivery, webhook_secret
from openkyc.jobs.worker import run_worker
from openkyc.store.models.privacy import AuditRecord

REDIS_URL = os.environ.get("OPENKYC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _sweeps(runtime: Any) -> int:
    with runtime.transaction() as session:
        query = select(func.count()).select_from(AuditRecord).where(AuditRecord.event_type == "retention_sweep")
        return int(session.scalar(query) or 0)


def _check_signed(runtime: Any, receiver: Receiver, app_id: int) -> dict[str, Any]:
    """The last delivery is signed with the app's secret and carries ids and the Result only."""
    got = receiver.received[-1]
    secret = webhook_secret(runtime.keyring, app_id)
    expected = "sha256=" + hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-openkyc-signature"], expected)
    assert got.headers["x-openkyc-event"] == "verification.result"
    body = got.json
    assert set(body) == {"event", "delivery_id", "app_id", "verification_id", "kind", "Result", "created_at"}
    assert got.headers["x-openkyc-delivery"] == body["delivery_id"]
    return body


def _delivery(url: str, app_id: int = 7) -> Any:
    return result_delivery(
        app_id=app_id, url=url, verification_id="v-123", kind="selfie", result="Success", created_at=datetime.now(UTC)
    )


def test_secret_is_per_app_and_stable(runtime: Any) -> None:
    assert webhook_secret(runtime.keyring, 1) == webhook_secret(runtime.keyring, 1)
    assert webhook_secret(runtime.keyring, 1) != webhook_secret(runtime.keyring, 2)
    assert len(webhook_secret(runtime.keyring, 1)) == 64


def test_in_process_webhook_retries_then_arrives_signed(runtime: Any) -> None:
    jobs = LocalJobs(runtime, backoff=(0, 0))
    try:
        with webhook_receiver(answers=[500, 503]) as receiver:
            jobs.enqueue_webhook(_delivery(receiver.url))
            assert jobs.drain(20)
        assert len(receiver.received) == 3 and jobs.done == 1 and jobs.failed == 0
        body = _check_signed(runtime, receiver, 7)
        assert body["Result"] == "Success" and body["verification_id"] == "v-123" and body["app_id"] == 7
        assert len({r.headers["x-openkyc-delivery"] for r in receiver.received}) == 1  # one id for every retry
    finally:
        jobs.close()


def test_in_process_webhook_gives_up_after_the_backoff(runtime: Any) -> None:
    jobs = LocalJobs(runtime, backoff=(0,))
    try:
        with webhook_receiver(answers=[500, 500, 500]) as receiver:
            jobs.enqueue_webhook(_delivery(receiver.url))
            assert jobs.drain(20)
        assert len(receiver.received) == 2 and jobs.failed == 1 and jobs.done == 0
    finally:
        jobs.close()


def test_webhook_is_sent_only_when_the_result_commits(runtime: Any) -> None:
    jobs = LocalJobs(runtime, backoff=())
    try:
        with webhook_receiver() as receiver:
            with pytest.raises(RuntimeError), runtime.transaction() as session:
                jobs.notify_result(
                    session, app_id=3, url=receiver.url, verification_id="v-rolled-back", kind="selfie",
                    result="Success", created_at=datetime.now(UTC),
                )  # fmt: skip
                raise RuntimeError("the result was not stored")
            with runtime.transaction() as session:
                jobs.notify_result(
                    session, app_id=3, url=None, verification_id="v-no-url", kind="selfie",
                    result="Success", created_at=datetime.now(UTC),
                )  # fmt: skip
                jobs.notify_result(
                    session, app_id=3, url=receiver.url, verification_id="v-stored", kind="liveness",
                    result="FailedOperation.SilentDetectFail", created_at=datetime.now(UTC),
                )  # fmt: skip
                assert receiver.received == []  # nothing leaves before the commit
            assert jobs.drain(20)
        assert [r.json["verification_id"] for r in receiver.received] == ["v-stored"]
        assert _check_signed(runtime, receiver, 3)["Result"] == "FailedOperation.SilentDetectFail"
    finally:
        jobs.close()


def test_in_process_sweep_job(runtime: Any) -> None:
    jobs = LocalJobs(runtime)
    try:
        jobs.enqueue_sweep()
        assert jobs.drain(20)
    finally:
        jobs.close()
    assert _sweeps(runtime) == 1 and jobs.done == 1


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_queue() -> Iterator[tuple[Any, str]]:
    """A reachable Redis and a queue name of its own; skipped without Redis (fails under CI)."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisConnectionError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    name = f"openkyc-test-{uuid.uuid4().hex[:8]}"
    yield connection, name
    for key in connection.scan_iter(f"*{name}*"):
        connection.delete(key)
    connection.close()


def test_redis_queue_sweep_and_webhook_with_a_burst_worker(
    runtime: Any, settings: Any, redis_queue: tuple[Any, str]
) -> None:
    connection, name = redis_queue
    jobs = RedisJobs(connection, queue_name=name, backoff=(0,))
    with webhook_receiver(answers=[502]) as receiver:
        jobs.enqueue_sweep()
        jobs.enqueue_webhook(_delivery(receiver.url, app_id=11))
        assert len(jobs.queue) == 2 and receiver.received == [] and _sweeps(runtime) == 0
        worked = run_worker(
            settings.model_copy(update={"redis_url": REDIS_URL}), runtime=runtime, burst=True, queue_name=name
        )
    assert worked and len(jobs.queue) == 0
    assert _sweeps(runtime) == 1
    assert len(receiver.received) == 2  # a 502, retried by RQ, then delivered
    assert _check_signed(runtime, receiver, 11)["app_id"] == 11
    from rq.registry import FailedJobRegistry

    assert FailedJobRegistry(name, connection=connection).count == 0


def test_api_with_redis_runs_no_sweep_thread(settings: Any, runtime: Any, redis_queue: tuple[Any, str]) -> None:
    from fastapi.testclient import TestClient

    from openkyc.api.app import create_app

    with TestClient(create_app(settings.model_copy(update={"redis_url": REDIS_URL}), runtime)):
        assert "retention_scheduler" not in runtime.components
        assert isinstance(runtime.components["jobs"], RedisJobs)
    assert "jobs" not in runtime.components
