"""Background jobs: signed webhooks with retries, in-process and through Redis (RQ), sweeps."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from jobs.receiver import Receiver, webhook_receiver
from openkyc.jobs import LocalJobs, RedisJobs, webhook_secret
from openkyc.jobs.webhooks import verify_signature
from openkyc.jobs.worker import run_worker
from openkyc.store.models.privacy import AuditRecord

REDIS_URL = os.environ.get("OPENKYC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _sweeps(runtime: Any) -> int:
    with runtime.transaction() as session:
        query = select(func.count()).select_from(AuditRecord).where(AuditRecord.event_type == "retention_sweep")
        return int(session.scalar(query) or 0)


def _check_signed(runtime: Any, receiver: Receiver, app_id: int) -> dict[str, Any]:
    """The last delivery is signed (timestamp + body) with the app's secret and carries ids and the Result only."""
    got = receiver.received[-1]
    secret = webhook_secret(runtime.keyring, app_id)
    assert verify_signature(secret, got.headers["x-openkyc-timestamp"], got.body, got.headers["x-openkyc-signature"])
    assert got.headers["x-openkyc-event"] == "verification.result"
    body = got.json
    assert set(body) == {"event", "delivery_id", "app_id", "verification_id", "kind", "Result", "created_at"}
    assert got.headers["x-openkyc-delivery"] == body["delivery_id"]
    return body


@pytest.fixture
def app_id(runtime: Any) -> int:
    from openkyc.accounts import service as accounts

    with runtime.transaction() as session:
        account = accounts.create_account(session, "jobs")
        return int(accounts.create_app(session, account.id, "jobs").id)


def _notify(runtime: Any, jobs: Any, url: str | None, app_id: int, verification_id: str = "v-123") -> str | None:
    """A result event written in its own transaction (the outbox row), enqueued after the commit."""
    with runtime.transaction() as session:
        return jobs.notify_result(
            session, app_id=app_id, url=url, verification_id=verification_id, kind="selfie", result="Success",
            created_at=datetime.now(UTC),
        )  # fmt: skip


def _row(runtime: Any, delivery_id: str) -> Any:
    from openkyc.store.models.webhooks import WebhookDeliveryRow

    with runtime.transaction() as session:
        row = session.get(WebhookDeliveryRow, delivery_id)
        session.expunge(row)
        return row


def test_secret_is_per_app_and_stable(runtime: Any) -> None:
    assert webhook_secret(runtime.keyring, 1) == webhook_secret(runtime.keyring, 1)
    assert webhook_secret(runtime.keyring, 1) != webhook_secret(runtime.keyring, 2)
    assert len(webhook_secret(runtime.keyring, 1)) == 64


def test_in_process_webhook_retries_then_arrives_signed(runtime: Any, app_id: int) -> None:
    jobs = LocalJobs(runtime, backoff=(0, 0))
    try:
        with webhook_receiver(answers=[500, 503]) as receiver:
            delivery_id = _notify(runtime, jobs, receiver.url, app_id)
            assert jobs.drain(20)
        assert len(receiver.received) == 3 and jobs.done == 1 and jobs.failed == 0
        body = _check_signed(runtime, receiver, app_id)
        assert body["Result"] == "Success" and body["verification_id"] == "v-123" and body["app_id"] == app_id
        assert len({r.headers["x-openkyc-delivery"] for r in receiver.received}) == 1  # one id for every retry
        row = _row(runtime, str(delivery_id))
        assert (row.state, row.attempts, row.last_status) == ("delivered", 3, 200)
        assert [h["status"] for h in row.history] == [500, 503, 200]
    finally:
        jobs.close()


def test_in_process_webhook_gives_up_after_the_backoff(runtime: Any, app_id: int) -> None:
    jobs = LocalJobs(runtime, backoff=(0,))
    try:
        with webhook_receiver(answers=[500, 500, 500]) as receiver:
            delivery_id = _notify(runtime, jobs, receiver.url, app_id)
            assert jobs.drain(20)
        assert len(receiver.received) == 2 and jobs.failed == 1 and jobs.done == 0
        row = _row(runtime, str(delivery_id))
        assert (row.state, row.attempts, row.last_status, row.last_error) == ("failed", 2, 500, "answered 500")
    finally:
        jobs.close()


def test_webhook_is_sent_only_when_the_result_commits(runtime: Any, app_id: int) -> None:
    jobs = LocalJobs(runtime, backoff=())
    try:
        with webhook_receiver() as receiver:
            with pytest.raises(RuntimeError), runtime.transaction() as session:
                jobs.notify_result(
                    session, app_id=app_id, url=receiver.url, verification_id="v-rolled-back", kind="selfie",
                    result="Success", created_at=datetime.now(UTC),
                )  # fmt: skip
                raise RuntimeError("the result was not stored")
            with runtime.transaction() as session:
                jobs.notify_result(
                    session, app_id=app_id, url=None, verification_id="v-no-url", kind="selfie",
                    result="Success", created_at=datetime.now(UTC),
                )  # fmt: skip
                jobs.notify_result(
                    session, app_id=app_id, url=receiver.url, verification_id="v-stored", kind="liveness",
                    result="FailedOperation.SilentDetectFail", created_at=datetime.now(UTC),
                )  # fmt: skip
                assert receiver.received == []  # nothing leaves before the commit
            assert jobs.drain(20)
        assert [r.json["verification_id"] for r in receiver.received] == ["v-stored"]
        assert _check_signed(runtime, receiver, app_id)["Result"] == "FailedOperation.SilentDetectFail"
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
    runtime: Any, settings: Any, redis_queue: tuple[Any, str], app_id: int
) -> None:
    connection, name = redis_queue
    jobs = RedisJobs(connection, queue_name=name, backoff=(0,))
    with webhook_receiver(answers=[502]) as receiver:
        jobs.enqueue_sweep()
        with runtime.transaction() as session:
            jobs.notify_result(
                session, app_id=app_id, url=receiver.url, verification_id="v-redis", kind="selfie",
                result="Success", created_at=datetime.now(UTC),
            )  # fmt: skip
        assert len(jobs.queue) == 2 and receiver.received == [] and _sweeps(runtime) == 0
        worked = run_worker(
            settings.model_copy(update={"redis_url": REDIS_URL}), runtime=runtime, burst=True, queue_name=name
        )
    assert worked and len(jobs.queue) == 0
    assert _sweeps(runtime) == 1
    assert len(receiver.received) == 2  # a 502, retried by RQ, then delivered
    assert _check_signed(runtime, receiver, app_id)["app_id"] == app_id
    from rq.registry import FailedJobRegistry

    assert FailedJobRegistry(name, connection=connection).count == 0


def test_api_with_redis_runs_no_sweep_thread(settings: Any, runtime: Any, redis_queue: tuple[Any, str]) -> None:
    from fastapi.testclient import TestClient

    from openkyc.api.app import create_app

    with TestClient(create_app(settings.model_copy(update={"redis_url": REDIS_URL}), runtime)):
        assert "retention_scheduler" not in runtime.components
        assert isinstance(runtime.components["jobs"], RedisJobs)
    assert "jobs" not in runtime.components
