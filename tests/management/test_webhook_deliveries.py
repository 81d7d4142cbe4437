"""Webhooks end to end: a local receiver checks the signature with the snippet of docs/webhooks.md,
a 500 then success after the backoff, the delivery log and redelivery through the management API,
the outbox recovering an enqueue that never happened, and a hosted session's ``session.finished``."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from jobs.receiver import Received, webhook_receiver
from openkyc.api.app import create_app
from openkyc.jobs import LocalJobs, webhook_secret
from openkyc.jobs import webhooks as hooks
from openkyc.store.models.privacy import AuditRecord
from openkyc.store.models.webhooks import WebhookDeliveryRow

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


@pytest.fixture(scope="module")
def docs_verifier() -> Callable[[str, dict[str, str], bytes], bool]:
    """The receiver's check exactly as docs/webhooks.md prints it."""
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert code is not None, "docs/webhooks.md has no Python snippet"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOCS), "exec"), namespace)
    verifier: Callable[[str, dict[str, str], bytes], bool] = namespace["verify_openkyc_webhook"]
    return verifier


@pytest.fixture
def jobs(runtime: Any, client: Any) -> Iterator[LocalJobs]:
    """The app's in-process queue, with a 1-second then 2-second backoff (the default waits minutes)."""
    old = runtime.components.pop("jobs", None)
    if old is not None:
        old.close()
    queue = LocalJobs(runtime, backoff=(1, 2))
    runtime.components["jobs"] = queue
    yield queue
    queue.close()


def _notify(runtime: Any, queue: LocalJobs, app_id: int, url: str, verification_id: str = "v-1") -> str:
    with runtime.transaction() as session:
        delivery_id = queue.notify_result(
            session, app_id=app_id, url=url, verification_id=verification_id, kind="selfie",
            result="Success", created_at=datetime.now(UTC),
        )  # fmt: skip
    assert delivery_id is not None
    return delivery_id


def _check(verifier: Callable[..., bool], runtime: Any, app_id: int, got: Received) -> None:
    secret = webhook_secret(runtime.keyring, app_id)
    assert verifier(secret, got.headers, got.body)
    assert not verifier(secret, got.headers, got.body.replace(b"Success", b"Failure"))  # a changed body
    assert not verifier(webhook_secret(runtime.keyring, app_id + 1), got.headers, got.body)  # another app's secret
    stale = {**got.headers, "x-openkyc-timestamp": str(int(time.time()) - 301)}
    assert not verifier(secret, stale, got.body)  # outside the replay window


def test_a_500_is_retried_after_the_backoff_logged_and_redelivered(
    tenant: Any, runtime: Any, jobs: LocalJobs, docs_verifier: Callable[..., bool]
) -> None:
    with webhook_receiver(answers=[500]) as receiver:
        delivery_id = _notify(runtime, jobs, tenant.app_id, receiver.url)
        assert jobs.drain(30)
        assert len(receiver.received) == 2
        first, second = receiver.received
        assert first.headers["x-openkyc-delivery"] == second.headers["x-openkyc-delivery"] == delivery_id
        for got in receiver.received:
            _check(docs_verifier, runtime, tenant.app_id, got)

        log = tenant.get("/v1/webhooks/deliveries")
        assert log.status_code == 200, log.text
        (entry,) = log.json()["deliveries"]
        assert (entry["delivery_id"], entry["state"], entry["attempts"]) == (delivery_id, "delivered", 2)
        assert [(h["status"], h["error"]) for h in entry["history"]] == [(500, "answered 500"), (200, None)]
        gap = datetime.fromisoformat(entry["history"][1]["at"]) - datetime.fromisoformat(entry["history"][0]["at"])
        assert gap >= timedelta(seconds=0.9)  # the retry waited for the backoff
        assert tenant.get("/v1/webhooks/deliveries?state=failed").json()["deliveries"] == []

        again = tenant.post(f"/v1/webhooks/deliveries/{delivery_id}/redeliver")
        assert again.status_code == 200, again.text
        assert jobs.drain(30)
        assert len(receiver.received) == 3
        assert receiver.received[2].headers["x-openkyc-delivery"] == delivery_id
        _check(docs_verifier, runtime, tenant.app_id, receiver.received[2])
    entry = tenant.get("/v1/webhooks/deliveries").json()["deliveries"][0]
    assert (entry["state"], entry["attempts"], entry["last_status"]) == ("delivered", 3, 200)
    with runtime.transaction() as session:
        audited = session.scalars(select(AuditRecord).where(AuditRecord.event_type == "config_change")).all()
        assert [(r.details["action"], r.details["delivery_id"]) for r in audited] == [
            ("webhook_redeliver", delivery_id)
        ]
    missing = tenant.post("/v1/webhooks/deliveries/nope/redeliver")
    assert missing.status_code == 404 and missing.json()["Error"]["Code"] == "ResourceNotFound.WebhookDelivery"


def test_a_receiver_that_keeps_failing_ends_failed_in_the_log(tenant: Any, runtime: Any, jobs: LocalJobs) -> None:
    with webhook_receiver(answers=[500, 502, 503, 500]) as receiver:
        delivery_id = _notify(runtime, jobs, tenant.app_id, receiver.url)
        assert jobs.drain(30)
    assert len(receiver.received) == 3  # the first attempt and the two retries of the backoff
    (entry,) = tenant.get("/v1/webhooks/deliveries?state=failed").json()["deliveries"]
    assert entry["delivery_id"] == delivery_id and entry["next_attempt_at"] is None
    assert [h["status"] for h in entry["history"]] == [500, 502, 503]


def test_the_outbox_delivers_an_event_whose_enqueue_was_lost(
    tenant: Any, runtime: Any, settings: Any, docs_verifier: Callable[..., bool]
) -> None:
    """A process died after committing the result and before enqueuing: the row is still pending;
    the next process's start-up enqueues it, once."""
    with webhook_receiver() as receiver:
        with runtime.transaction() as session:  # the row, committed, never enqueued
            payload = hooks.result_payload(
                verification_id="v-lost", kind="liveness", result="Success", created_at=datetime.now(UTC)
            )
            delivery_id = hooks.record(
                session, app_id=tenant.app_id, url=receiver.url, event=hooks.RESULT_EVENT, payload=payload,
                now=runtime.clock() - timedelta(minutes=10),
            )  # fmt: skip
        runtime.components.pop("jobs").close()
        with TestClient(create_app(settings, runtime)):  # start-up: the outbox is read
            assert receiver.arrived.wait(20)
            runtime.components["jobs"].drain(10)
            assert runtime.components["jobs"].requeue_webhooks(runtime) == 0  # claimed once only
        assert [r.json["verification_id"] for r in receiver.received] == ["v-lost"]
        _check(docs_verifier, runtime, tenant.app_id, receiver.received[0])
    with runtime.transaction() as session:
        row = session.get(WebhookDeliveryRow, delivery_id)
        assert row is not None and (row.state, row.attempts) == ("delivered", 1)


def test_a_running_process_without_redis_recovers_a_dead_peers_lost_enqueue(tenant: Any, runtime: Any) -> None:
    """Another API process committed a result and died before enqueuing; this one is already running
    (its start-up recovery is past): its in-process retention schedule enqueues the row, once."""
    with webhook_receiver() as receiver:
        with TestClient(create_app(runtime.settings, runtime)):
            scheduler = runtime.components["retention_scheduler"]
            assert scheduler.before_each is not None
            with runtime.transaction() as session:  # written after this process started
                payload = hooks.result_payload(
                    verification_id="v-peer", kind="liveness", result="Success", created_at=datetime.now(UTC)
                )
                hooks.record(
                    session, app_id=tenant.app_id, url=receiver.url, event=hooks.RESULT_EVENT, payload=payload,
                    now=runtime.clock() - timedelta(minutes=10),
                )  # fmt: skip
            scheduler._once()  # the schedule's next run (every OPENKYC_RETENTION_SWEEP_SECONDS)
            assert receiver.arrived.wait(20)
            runtime.components["jobs"].drain(10)
            scheduler._once()
            runtime.components["jobs"].drain(10)
        assert [r.json["verification_id"] for r in receiver.received] == ["v-peer"]


def test_a_recent_pending_row_is_not_taken_from_its_job(tenant: Any, runtime: Any, jobs: LocalJobs) -> None:
    with runtime.transaction() as session:
        hooks.record(
            session, app_id=tenant.app_id, url="http://127.0.0.1:9/", event=hooks.RESULT_EVENT,
            payload={"verification_id": "v-new"}, now=runtime.clock(),
        )  # fmt: skip
    assert jobs.requeue_webhooks(runtime) == 0
    with runtime.transaction() as session:
        session.execute(update(WebhookDeliveryRow).values(next_attempt_at=runtime.clock() - timedelta(minutes=6)))
    assert jobs.requeue_webhooks(runtime) == 1


@pytest.mark.slow
def test_a_hosted_session_that_finishes_sends_session_finished(
    tenant: Any, runtime: Any, jobs: LocalJobs, shared_data: Path, docs_verifier: Callable[..., bool]
) -> None:
    clip = (shared_data / "grid-talking-face-videos" / "sbia1a.mpg").read_bytes()
    with webhook_receiver() as receiver:
        # a recorded clip cannot follow a challenge drawn after it: the rule's own mode, no challenge
        config = {"webhook_url": receiver.url, "hosted": {"challenge": False}}
        rule = tenant.post("/v1/rules", {"name": "hosted-hook", "config": config})
        assert rule.status_code == 200, rule.text
        created = tenant.post(
            "/v1/sessions",
            {"redirect_url": "https://shop.example/done", "rule_id": rule.json()["rule_id"], "extra": "order-77"},
        )
        token = created.json()["biz_token"]
        assert tenant.client.post(f"/verify/{token}/notice", json={"agree": True}).status_code == 200
        submitted = tenant.client.post(f"/verify/{token}/submit", json={"video": base64.b64encode(clip).decode()})
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["finished"] is True
        assert jobs.drain(30)
    events = {r.headers["x-openkyc-event"]: r for r in receiver.received}
    assert sorted(events) == ["session.finished", "verification.result"]
    finished = events["session.finished"].json
    result = tenant.get(f"/v1/sessions/{token}/result").json()
    assert finished["biz_token"] == token and finished["state"] == "completed"
    assert finished["Result"] == submitted.json()["Result"] == result["result"]["Result"]
    assert finished["verification_id"] == events["verification.result"].json["verification_id"]
    assert b"order-77" not in events["session.finished"].body
    for got in receiver.received:
        _check(docs_verifier, runtime, tenant.app_id, got)
    kinds = [d["event"] for d in tenant.get("/v1/webhooks/deliveries?event=session.finished").json()["deliveries"]]
    assert kinds == ["session.finished"]


def test_the_retention_sweep_deletes_old_delivery_log_rows(tenant: Any, runtime: Any) -> None:
    from openkyc.privacy.sweep import run_sweep

    now = runtime.clock()
    with runtime.transaction() as session:
        old, new = (
            hooks.record(
                session,
                app_id=tenant.app_id,
                url="http://127.0.0.1:9/",
                event=hooks.RESULT_EVENT,
                payload={"verification_id": name},
                now=when,
            )
            for name, when in (("v-old", now - timedelta(hours=73)), ("v-new", now - timedelta(hours=71)))
        )
        session.execute(update(WebhookDeliveryRow).values(state="delivered", next_attempt_at=None))
    report = run_sweep(runtime.sweeper, actor="test").as_dict()
    assert report["counts"]["webhook_deliveries"] == 1, report
    with runtime.transaction() as session:
        left = set(session.scalars(select(WebhookDeliveryRow.id)))
    assert left == {new} and old not in left
