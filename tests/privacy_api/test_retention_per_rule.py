"""Each verification result and media file is kept for the rule it was made under, not its app's shortest rule.

The reproduction: one rule with ``result_hours`` 0.01 (36 s) must not delete, 40 s later, the
results made with the defaults (72 h) or under another rule of the same app. Rows written before
migration 0018 (``rule_recorded`` false) keep the older treatment: their app's shortest rule.
Results and blobs are written through the store's own write paths (``ResultRepository.add``,
``BlobStore.put``), the clock is replaced. Runs on SQLite and, with OPENKYC_TEST_DATABASE_URL, on
PostgreSQL through the ``runtime``/``tenant`` fixtures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from clocks import Clock
from openkyc.privacy.sweep import run_sweep
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.media import Blob
from openkyc.store.models.verification import VerificationResult
from openkyc.verification.repository import ResultRepository

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def _rule(tenant: Any, name: str, retention: dict[str, float]) -> str:
    created = tenant.post("/v1/rules", {"name": name, "config": {"retention": retention}})
    assert created.status_code == 200, created.text
    rule_id: str = created.json()["rule_id"]
    return rule_id


def _result(runtime: Any, app_id: int, rule_id: str | None, hours: float) -> str:
    """A result as the verification flows store it: ``expires_at`` from the rule, the rule recorded."""
    now = runtime.clock()
    with runtime.transaction() as session:
        result_id: str = ResultRepository(session, runtime.gate, runtime.keyring).add(
            app_id, kind="selfie", subject_id=None, result_code="Success", live=True, sim=90.0, details={},
            identification={"surname": "Planted"}, now=now, expires_at=now + timedelta(hours=hours),
            rule_id=rule_id, purpose=Purpose.PROVIDE_FEATURES,
        )  # fmt: skip
    return result_id


def _blob(runtime: Any, app_id: int, rule_id: str | None, hours: float) -> str:
    now = runtime.clock()
    with runtime.transaction() as session:
        blob_id: str = runtime.blobs.put(
            session, app_id=app_id, kind="face_image", data=b"x" * 32, now=now,
            expires_at=now + timedelta(hours=hours), rule_id=rule_id, purpose=Purpose.PROVIDE_FEATURES,
        )  # fmt: skip
    return blob_id


def _unrecord(runtime: Any, model: Any, row_id: str) -> None:
    """The row as migration 0018 leaves one written before it: its rule not recorded."""
    with runtime.transaction() as session:
        session.execute(update(model).where(model.id == row_id).values(rule_recorded=False))


def _left(runtime: Any, model: Any, ids: list[str]) -> set[str]:
    with runtime.transaction() as session:
        return set(session.scalars(select(model.id).where(model.id.in_(ids))))


def test_a_short_rule_deletes_only_the_results_made_under_it(runtime: Any, tenant: Any) -> None:
    brief = _rule(tenant, "brief", {"result_hours": 0.01})
    day = _rule(tenant, "day", {"result_hours": 24})
    clock = Clock(T0)
    runtime.clock = clock
    defaults = [_result(runtime, tenant.app_id, None, 72) for _ in range(5)]  # no rule: the 72 h default
    under_day = _result(runtime, tenant.app_id, day, 24)
    under_brief = _result(runtime, tenant.app_id, brief, 0.01)
    everything = [*defaults, under_day, under_brief]
    with runtime.transaction() as session:
        recorded = dict(session.execute(select(VerificationResult.id, VerificationResult.rule_id)).tuples().all())
    assert recorded[under_brief] == brief and recorded[under_day] == day and recorded[defaults[0]] is None

    clock.now = T0 + timedelta(seconds=35)
    assert run_sweep(runtime.sweeper).counts["verification_results"] == 0
    clock.now = T0 + timedelta(seconds=40)
    assert run_sweep(runtime.sweeper).counts["verification_results"] == 1
    assert _left(runtime, VerificationResult, everything) == set(everything) - {under_brief}

    clock.now = T0 + timedelta(hours=24, seconds=-1)
    run_sweep(runtime.sweeper)
    assert under_day in _left(runtime, VerificationResult, everything)
    clock.now = T0 + timedelta(hours=24, seconds=1)
    run_sweep(runtime.sweeper)
    assert _left(runtime, VerificationResult, everything) == set(defaults)
    clock.now = T0 + timedelta(hours=72, seconds=-1)
    run_sweep(runtime.sweeper)
    assert _left(runtime, VerificationResult, everything) == set(defaults)
    clock.now = T0 + timedelta(hours=72, seconds=1)
    run_sweep(runtime.sweeper)
    assert _left(runtime, VerificationResult, everything) == set()


def test_a_rule_shortened_later_applies_to_the_results_made_under_it(runtime: Any, tenant: Any) -> None:
    changed = _rule(tenant, "changed", {"result_hours": 10})
    other = _rule(tenant, "other", {"result_hours": 10})
    real, clock = runtime.clock, Clock(T0)
    runtime.clock = clock
    under_changed = _result(runtime, tenant.app_id, changed, 10)
    under_other = _result(runtime, tenant.app_id, other, 10)
    runtime.clock = real  # signed requests need the real time
    shortened = tenant.put(f"/v1/rules/{changed}", {"name": "changed", "config": {"retention": {"result_hours": 1}}})
    assert shortened.status_code == 200, shortened.text
    runtime.clock = clock

    clock.now = T0 + timedelta(minutes=59)
    run_sweep(runtime.sweeper)
    assert _left(runtime, VerificationResult, [under_changed, under_other]) == {under_changed, under_other}
    clock.now = T0 + timedelta(hours=1, seconds=1)
    run_sweep(runtime.sweeper)
    assert _left(runtime, VerificationResult, [under_changed, under_other]) == {under_other}


def test_results_without_a_recorded_rule_keep_the_app_shortest_rule(runtime: Any, tenant: Any) -> None:
    _rule(tenant, "brief", {"result_hours": 1})
    clock = Clock(T0)
    runtime.clock = clock
    legacy = _result(runtime, tenant.app_id, None, 72)
    _unrecord(runtime, VerificationResult, legacy)
    recent = _result(runtime, tenant.app_id, None, 72)

    clock.now = T0 + timedelta(minutes=59)
    run_sweep(runtime.sweeper)
    assert _left(runtime, VerificationResult, [legacy, recent]) == {legacy, recent}
    clock.now = T0 + timedelta(hours=1, seconds=1)
    run_sweep(runtime.sweeper)
    assert _left(runtime, VerificationResult, [legacy, recent]) == {recent}


def test_media_is_kept_for_the_rule_it_was_stored_under(runtime: Any, tenant: Any) -> None:
    half = _rule(tenant, "half", {"media_hours": 0.5})
    hour = _rule(tenant, "hour", {"media_hours": 1})
    clock = Clock(T0)
    runtime.clock = clock
    under_half = _blob(runtime, tenant.app_id, half, 0.5)
    under_hour = _blob(runtime, tenant.app_id, hour, 24)  # a sloppy expiry: the rule still applies
    no_rule = _blob(runtime, tenant.app_id, None, 24)  # the policy's 2 hours apply
    legacy = _blob(runtime, tenant.app_id, None, 24)
    _unrecord(runtime, Blob, legacy)
    ids = [under_half, under_hour, no_rule, legacy]

    clock.now = T0 + timedelta(minutes=29)
    run_sweep(runtime.sweeper)
    assert _left(runtime, Blob, ids) == set(ids)
    clock.now = T0 + timedelta(minutes=30, seconds=1)
    run_sweep(runtime.sweeper)
    assert _left(runtime, Blob, ids) == {under_hour, no_rule}  # legacy: the app's shortest rule, as before
    assert not any(runtime.settings.blob_dir.glob(f"*/{under_half}"))
    clock.now = T0 + timedelta(hours=1, seconds=1)
    run_sweep(runtime.sweeper)
    assert _left(runtime, Blob, ids) == {no_rule}
    clock.now = T0 + timedelta(hours=2, seconds=-1)
    run_sweep(runtime.sweeper)
    assert _left(runtime, Blob, ids) == {no_rule}
    clock.now = T0 + timedelta(hours=2, seconds=1)
    run_sweep(runtime.sweeper)
    assert _left(runtime, Blob, ids) == set()


def test_the_ropa_lists_each_rule_with_its_own_periods(runtime: Any, tenant: Any) -> None:
    results = _rule(tenant, "results", {"result_hours": 5})
    media = _rule(tenant, "media", {"media_hours": 1})
    _rule(tenant, "defaults", {"result_hours": 72})  # shortens nothing: not listed
    answer = tenant.get("/v1/privacy/ropa?format=json")
    assert answer.status_code == 200, answer.text
    listed = {o["rule_id"]: o["overrides"] for o in json.loads(answer.text)["retention_overrides"]}
    assert listed == {
        results: {"verification_result": 5.0},
        media: {"face_image": 1.0, "face_video": 1.0, "document_image": 1.0},
    }
