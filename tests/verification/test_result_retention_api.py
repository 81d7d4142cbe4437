"""Over HTTP with the real models on real data: a rule's retention reaches only what was made under it.

A liveness check on a real clip under a rule with ``result_hours`` 0.01 and another with no rule;
40 s later the sweep deletes the first result only (the outside trial's reproduction, where every
result of the app went). Hosted sessions with a real reference photo: the photo stored under a rule
with ``media_hours`` 0.5 goes after 30 minutes, the one stored with no rule stays for the policy's
2 hours. The sweep runs with the runtime's clock moved; signed requests use the real time.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from openkyc.privacy.sweep import run_sweep
from openkyc.store.models.media import Blob
from openkyc.store.models.verification import VerificationResult

pytestmark = pytest.mark.slow


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _rule(tenant: Any, retention: dict[str, float]) -> str:
    created = tenant.post("/v1/rules", {"name": "short", "config": {"retention": retention}})
    assert created.status_code == 200, created.text
    rule_id: str = created.json()["rule_id"]
    return rule_id


def _sweep_at(runtime: Any, when: datetime) -> None:
    real = runtime.clock
    runtime.clock = lambda: when
    try:
        run_sweep(runtime.sweeper)
    finally:
        runtime.clock = real


def test_a_short_rule_deletes_only_its_own_results(runtime: Any, tenant: Any, shared_data: Path) -> None:
    clip = (shared_data / "grid-talking-face-videos" / "bbaf2n.mpg").read_bytes()
    brief = _rule(tenant, {"result_hours": 0.01})
    with_defaults = tenant.post("/v1/liveness", {"video": b64(clip)})
    under_brief = tenant.post("/v1/liveness", {"video": b64(clip), "rule_id": brief})
    assert with_defaults.status_code == 200 and under_brief.status_code == 200, (with_defaults.text, under_brief.text)
    kept, gone = with_defaults.json()["verification_id"], under_brief.json()["verification_id"]

    _sweep_at(runtime, datetime.now(UTC) + timedelta(seconds=40))
    with runtime.transaction() as session:
        left = set(session.scalars(select(VerificationResult.id).where(VerificationResult.id.in_([kept, gone]))))
    assert left == {kept}
    answer = tenant.get(f"/v1/verifications/{kept}")
    assert answer.status_code == 200, answer.text
    assert tenant.get(f"/v1/verifications/{gone}").status_code == 404


def test_a_reference_photo_is_kept_for_the_rule_it_was_stored_under(
    runtime: Any, tenant: Any, shared_data: Path
) -> None:
    photo = (shared_data / "facerec-examples" / "identities" / "obama" / "obama.jpg").read_bytes()
    half = _rule(tenant, {"media_hours": 0.5})
    back = "https://customer.example/back"
    for rule_id in (half, None):
        body: dict[str, Any] = {"redirect_url": back, "compare_image": b64(photo)}
        if rule_id is not None:
            body["rule_id"] = rule_id
        created = tenant.post("/v1/sessions", body)
        assert created.status_code == 200, created.text

    def photos() -> dict[str | None, str]:
        with runtime.transaction() as session:
            rows = session.execute(select(Blob.rule_id, Blob.id).where(Blob.app_id == tenant.app_id)).tuples()
            return dict(rows.all())

    stored = photos()
    assert set(stored) == {half, None}
    _sweep_at(runtime, datetime.now(UTC) + timedelta(minutes=31))
    assert photos() == {None: stored[None]}
    _sweep_at(runtime, datetime.now(UTC) + timedelta(hours=2, minutes=1))
    assert photos() == {}
