"""The retention sweep: steps with a controllable clock, the audit record, the scheduler, `openkyc purge`."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from wiring_helpers import audit_events, b64, cli_json, png_bytes

from clocks import Clock
from openkyc.api.app import create_app
from openkyc.privacy.sweep import STEPS, RetentionScheduler, run_sweep
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.accounts import SeenSignature
from openkyc.store.models.diagnostics import CallRecord
from openkyc.store.models.media import Blob
from openkyc.store.models.privacy import ModelImprovementItem

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def _put_blob(runtime: Any, app_id: int, hours: float, kind: str = "face_image", rule_id: str | None = None) -> str:
    now = runtime.clock()
    with runtime.transaction() as session:
        blob_id: str = runtime.blobs.put(
            session,
            app_id=app_id,
            kind=kind,
            data=b"x" * 32,
            now=now,
            expires_at=now + timedelta(hours=hours),
            rule_id=rule_id,
            purpose=Purpose.PROVIDE_FEATURES,
        )
    return blob_id


def _count(runtime: Any, model: Any) -> int:
    with runtime.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_sweep_deletes_only_what_expired(runtime: Any, tenant: Any) -> None:
    clock = Clock(T0)
    runtime.clock = clock
    fresh = _put_blob(runtime, tenant.app_id, 2)
    sloppy = _put_blob(runtime, tenant.app_id, 24, kind="video")  # written with too long an expiry
    with runtime.transaction() as session:
        session.add(SeenSignature(signature="a" * 64, expires_at=T0 + timedelta(minutes=6)))
        for i, age in enumerate((timedelta(days=1), timedelta(days=800))):
            session.add(
                CallRecord(
                    request_id=f"00000000-0000-0000-0000-00000000000{i}", app_id=tenant.app_id, secret_id=None,
                    action="X", method="GET", route="/x", status_code=200, error_code=None, result_code=None,
                    billable=False, duration_ms=1.0, client_ip=None, created_at=T0 - age,
                )
            )  # fmt: skip
    orphan = runtime.settings.blob_dir / "zz" / "bl-zzzzzzzzzzzzzzzzzzzzzzzz"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a failed transaction")
    old = (T0 - timedelta(hours=1)).timestamp()
    os.utime(orphan, (old, old))
    calls_before = _count(runtime, CallRecord)

    first = run_sweep(runtime.sweeper)
    assert first.counts["call_records"] == 1 and first.counts["orphan_files"] == 1
    assert first.counts["expired_blobs"] == 0 and first.counts["media_by_policy"] == 0
    assert first.counts["seen_signatures"] >= 0
    assert _count(runtime, CallRecord) == calls_before - 1 and not orphan.exists()

    clock.now = T0 + timedelta(hours=2, seconds=1)
    second = run_sweep(runtime.sweeper)
    assert second.counts["expired_blobs"] == 1  # the 2-hour blob
    assert second.counts["media_by_policy"] == 1  # the video kept past the policy's 2 hours
    assert second.counts["seen_signatures"] >= 1
    assert _count(runtime, Blob) == 0
    assert not any(runtime.settings.blob_dir.glob(f"*/{fresh}")) and not any(
        runtime.settings.blob_dir.glob(f"*/{sloppy}")
    )
    assert [name for name, _ in STEPS] == list(second.counts)

    sweeps = audit_events(runtime, "retention_sweep")
    assert [s.details["counts"] for s in sweeps] == [first.counts, second.counts]


def test_a_rule_shortens_media_retention(runtime: Any, tenant: Any) -> None:
    rule = tenant.post("/v1/rules", {"name": "short", "config": {"retention": {"media_hours": 0.5}}})
    assert rule.status_code == 200, rule.text
    clock = Clock(T0)
    runtime.clock = clock
    _put_blob(runtime, tenant.app_id, 2, rule_id=rule.json()["rule_id"])  # stored under the rule
    clock.now = T0 + timedelta(minutes=31)
    assert run_sweep(runtime.sweeper).counts["media_by_policy"] == 1
    assert _count(runtime, Blob) == 0


def test_model_improvement_items_live_a_year(runtime: Any, tenant: Any) -> None:
    start = datetime.now(UTC)  # signed requests need the real time
    assert tenant.post("/v1/privacy/consents", {"subject_id": "s-9", "text_version": "v1"}).status_code == 200
    out = tenant.post("/v1/improvement/samples", {"subject_id": "s-9", "image": b64(png_bytes())})
    assert out.status_code == 200, out.text
    clock = Clock(start + timedelta(days=30))
    runtime.clock = clock
    report = run_sweep(runtime.sweeper)
    assert report.counts["media_by_policy"] == 0 and _count(runtime, ModelImprovementItem) == 1
    clock.now = start + timedelta(days=366)
    report = run_sweep(runtime.sweeper)
    assert report.counts["expired_blobs"] + report.counts["model_improvement_items"] >= 1
    assert _count(runtime, ModelImprovementItem) == 0 and _count(runtime, Blob) == 0


def test_scheduler_runs_and_stops(runtime: Any) -> None:
    scheduler = RetentionScheduler(runtime.sweeper, 0.05)
    scheduler.start()
    deadline = time.monotonic() + 10
    while scheduler.runs < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    scheduler.stop()
    assert scheduler.runs >= 2 and scheduler.last_report is not None and not scheduler.running
    assert not [t for t in threading.enumerate() if t.name == "openkyc-retention-sweep"]


def test_app_lifespan_starts_and_stops_the_scheduler(settings: Any, runtime: Any) -> None:
    with TestClient(create_app(settings, runtime)):
        scheduler = runtime.components["retention_scheduler"]
        assert scheduler.running and scheduler.interval == settings.retention_sweep_seconds
    assert not scheduler.running
    assert not [t for t in threading.enumerate() if t.name == "openkyc-retention-sweep"]


def test_purge_command(cli: Any, runtime: Any, tenant: Any) -> None:
    out = cli_json(cli("purge", "--json"))
    assert set(out["counts"]) == {name for name, _ in STEPS} and out["total"] == sum(out["counts"].values())
    human = cli("purge")
    assert human.exit_code == 0 and "total deleted:" in human.stdout
    assert len(audit_events(runtime, "retention_sweep")) == 2
