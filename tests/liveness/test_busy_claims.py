"""A liveness request refused for busy models (503 ``ServerBusy``) uses up neither its challenge nor
its reflect sequence: clients retry a 503, and the retry is checked as the first try would have been.

Before the fix the challenge was claimed (committed) before a model instance was taken, so the
retry of a 503 got ``400 InvalidParameterValue.LivenessChallengeUsed``: a legitimate request refused
under load (seen in ``tests/server/test_challenge_concurrency.py`` on an overloaded machine).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from openkyc.pool import ModelPool
from openkyc.store.models.liveness import LivenessChallengeRow
from openkyc.store.models.verification import ReflectSequenceRow

GRID_CLIP = "grid-talking-face-videos/lbax4n.mpg"
BUSY = "ResourceUnavailable.ServerBusy"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _one_model(runtime: Any, factory: Any) -> ModelPool[Any]:
    """The runtime's models replaced by one instance and no queue: a held lease makes the next request 503."""
    pool: ModelPool[Any] = ModelPool(factory, size=1, queue_size=0, timeout_s=5.0)
    runtime.components["models"] = pool
    return pool


def _used_at(runtime: Any, row_type: Any, row_id: str) -> Any:
    with runtime.transaction() as session:
        row = session.get(row_type, row_id)
        assert row is not None
        return row.used_at


@pytest.mark.parametrize("path", ["/v1/liveness", "/v1/verifications/selfie"])
def test_a_busy_refusal_leaves_the_challenge_unused(tenant: Any, runtime: Any, path: str) -> None:
    pool = _one_model(runtime, object)
    challenge_id = tenant.post("/v1/liveness/challenges").json()["challenge_id"]
    payload = {"video": b64(b"not a video"), "challenge_id": challenge_id}
    if path.endswith("selfie"):
        payload["image"] = b64(b"not an image")
    with pool.lease():  # another request holds the only instance
        refused = tenant.post(path, payload)
    assert refused.status_code == 503 and refused.json()["Error"]["Code"] == BUSY, refused.text
    assert _used_at(runtime, LivenessChallengeRow, challenge_id) is None


def test_a_busy_refusal_leaves_the_reflect_sequence_unused(tenant: Any, runtime: Any) -> None:
    pool = _one_model(runtime, object)
    sequence_id = tenant.post("/v1/liveness/reflect-sequences").json()["sequence_id"]
    payload = {"video": b64(b"not a video"), "mode": "reflection", "reflect_sequence_id": sequence_id}
    with pool.lease():
        refused = tenant.post("/v1/liveness", payload)
    assert refused.status_code == 503 and refused.json()["Error"]["Code"] == BUSY, refused.text
    assert _used_at(runtime, ReflectSequenceRow, sequence_id) is None


@pytest.mark.slow
def test_the_retry_of_a_busy_refusal_is_checked_once(tenant: Any, runtime: Any, shared_data: Path) -> None:
    """The real models on a real clip: 503, then the same request again is checked (200), then the
    challenge is used (a third try is refused as a replay of the challenge)."""
    from openkyc.runtime import ModelSet

    pool = _one_model(runtime, lambda: ModelSet(num_threads=1, allow_noncommercial=False))
    challenge_id = tenant.post("/v1/liveness/challenges").json()["challenge_id"]
    payload = {"video": b64((shared_data / GRID_CLIP).read_bytes()), "challenge_id": challenge_id}
    with pool.lease():
        refused = tenant.post("/v1/liveness", payload)
    assert refused.status_code == 503, refused.text
    retried = tenant.post("/v1/liveness", payload)
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["mode"] == "challenge" and body["Result"] and body["verification_id"]
    assert _used_at(runtime, LivenessChallengeRow, challenge_id) is not None
    again = tenant.post("/v1/liveness", payload)
    assert again.status_code == 400 and again.json()["Error"]["Code"] == "InvalidParameterValue.LivenessChallengeUsed"
