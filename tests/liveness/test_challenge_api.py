"""Timed challenges over HTTP with the real models on a real recording (a phone selfie with blinks).

The recording cannot follow a schedule drawn after it was made, so the positive case stores, for an
issued challenge, a schedule built from the clip's blink onsets as annotated in
``benchmarks/action_labels.csv`` (what a person answering the prompts would have produced); every
other case uses the schedule the server drew.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from openkyc.store.models.liveness import LivenessChallengeRow

pytestmark = pytest.mark.slow

CLIP = "live-faces-varied/repeating__Blink-Detector__video.mp4"
BLINK_ONSET_MS = 1650  # annotated: the lids start to fall between the frames at 1634 and 1676 ms


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def clip(shared_data: Path) -> bytes:
    return (shared_data / CLIP).read_bytes()


def _schedule(action: str, prompt_ms: int, record_ms: int = 5600) -> dict[str, Any]:
    return {
        "actions": [
            {
                "action": action,
                "prompt_ms": prompt_ms,
                "window_start_ms": prompt_ms + 150,
                "window_end_ms": prompt_ms + 1650,
            }
        ],
        "colors": None,
        "record_ms": record_ms,
    }


def _store(runtime: Any, challenge_id: str, schedule: dict[str, Any]) -> None:
    with runtime.transaction() as session:
        row = session.get(LivenessChallengeRow, challenge_id)
        assert row is not None
        row.schedule = schedule


def test_issue_answers_a_schedule(tenant: Any) -> None:
    plain = tenant.post("/v1/liveness/challenges")
    assert plain.status_code == 200, plain.text
    body = plain.json()
    assert set(body) == {"challenge_id", "schedule", "expires_at", "RequestId"}
    assert body["schedule"]["colors"] is None and len(body["schedule"]["actions"]) == 3
    assert body["schedule"]["record_ms"] > body["schedule"]["actions"][-1]["window_end_ms"]
    coloured = tenant.post("/v1/liveness/challenges", {"reflection": True}).json()
    assert coloured["schedule"]["colors"] and coloured["challenge_id"] != body["challenge_id"]
    assert tenant.post("/v1/liveness/challenges", {"reflection": "maybe"}).status_code == 400


def test_a_recording_that_answers_the_prompt_passes_once(tenant: Any, runtime: Any, clip: bytes) -> None:
    challenge_id = tenant.post("/v1/liveness/challenges").json()["challenge_id"]
    _store(runtime, challenge_id, _schedule("blink", BLINK_ONSET_MS - 400))
    first = tenant.post("/v1/liveness", {"video": b64(clip), "challenge_id": challenge_id})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["Result"] == "Success" and body["live"] is True and body["mode"] == "challenge", body["evidence"]
    verdict = body["evidence"]["challenge"]["actions"][0]
    assert abs(verdict["onset_ms"] - BLINK_ONSET_MS) <= 150
    again = tenant.post("/v1/liveness", {"video": b64(clip), "challenge_id": challenge_id})
    assert again.status_code == 400
    assert again.json()["Error"]["Code"] == "InvalidParameterValue.LivenessChallengeUsed"


@pytest.mark.parametrize(
    ("action", "prompt_ms", "result"),
    [
        ("nod", 1500, "FailedOperation.ActionNodHead"),  # no nod in the clip
        ("shake", 2500, "FailedOperation.ActionShakeHead"),  # no head turn either
        ("mouth", 800, "FailedOperation.ActionOpenMouth"),  # nor a mouth opening
    ],
)
def test_a_recording_made_for_another_schedule_fails(
    tenant: Any, runtime: Any, clip: bytes, action: str, prompt_ms: int, result: str
) -> None:
    challenge_id = tenant.post("/v1/liveness/challenges").json()["challenge_id"]
    _store(runtime, challenge_id, _schedule(action, prompt_ms))
    response = tenant.post("/v1/liveness", {"video": b64(clip), "challenge_id": challenge_id})
    assert response.status_code == 200, response.text
    assert response.json()["Result"] == result and response.json()["live"] is False


@pytest.mark.parametrize("prompt_ms", [1750, 1950])
def test_blink_alone_is_a_weak_challenge(tenant: Any, runtime: Any, clip: bytes, prompt_ms: int) -> None:
    # the person blinks every 1.5-2 s, so the recording "answers" a blink prompt drawn after it was
    # made, although it blinked just before the prompt: blink is left out of the default draw
    challenge_id = tenant.post("/v1/liveness/challenges").json()["challenge_id"]
    _store(runtime, challenge_id, _schedule("blink", prompt_ms))
    body = tenant.post("/v1/liveness", {"video": b64(clip), "challenge_id": challenge_id}).json()
    assert body["Result"] == "Success", body["evidence"]["challenge"]
    assert abs(body["evidence"]["challenge"]["actions"][0]["onset_ms"] - 3420) <= 150  # the next labelled blink


def test_the_drawn_schedule_is_checked_and_the_result_stored(tenant: Any, clip: bytes) -> None:
    challenge_id = tenant.post("/v1/liveness/challenges").json()["challenge_id"]
    body = tenant.post("/v1/liveness", {"video": b64(clip), "challenge_id": challenge_id}).json()
    # a 6 s selfie recorded before the three random actions were drawn
    assert body["Result"] != "Success" and body["mode"] == "challenge"
    stored = tenant.get(f"/v1/verifications/{body['verification_id']}").json()
    assert stored["Result"] == body["Result"]


def test_selfie_verification_takes_a_challenge(tenant: Any, runtime: Any, clip: bytes, shared_data: Path) -> None:
    import cv2
    from attacks import read_frames

    ok, frame = cv2.imencode(".jpg", read_frames(shared_data / CLIP, limit=1)[0])
    assert ok
    challenge_id = tenant.post("/v1/liveness/challenges").json()["challenge_id"]
    _store(runtime, challenge_id, _schedule("blink", BLINK_ONSET_MS - 400))
    payload = {"video": b64(clip), "image": b64(frame.tobytes()), "challenge_id": challenge_id}
    body = tenant.post("/v1/verifications/selfie", payload).json()
    assert body["Result"] == "Success" and body["liveness"]["mode"] == "challenge" and body["sim"] >= 70


def test_refusals(make_tenant: Any, clip: bytes) -> None:
    alice, bob = make_tenant("alice"), make_tenant("bob")
    challenge_id = alice.post("/v1/liveness/challenges").json()["challenge_id"]
    other_app = bob.post("/v1/liveness", {"video": b64(clip), "challenge_id": challenge_id})
    assert other_app.status_code == 404
    assert other_app.json()["Error"]["Code"] == "ResourceNotFound.LivenessChallenge"
    conflicting = alice.post("/v1/liveness", {"video": b64(clip), "challenge_id": challenge_id, "mode": "silent"})
    assert conflicting.status_code == 400
    assert conflicting.json()["Error"]["Code"] == "InvalidParameterValue.LivenessMode"
    missing = alice.post("/v1/liveness", {"video": b64(clip), "mode": "challenge"})
    assert missing.status_code == 400 and missing.json()["Error"]["Code"] == "MissingParameter"
    malformed = alice.post("/v1/liveness", {"video": b64(clip), "challenge_id": "not/a/challenge"})
    assert malformed.status_code == 400
    # none of the refusals used the challenge up
    assert alice.post("/v1/liveness", {"video": b64(clip), "challenge_id": challenge_id}).status_code == 200


def test_a_rule_in_challenge_mode_needs_a_challenge(tenant: Any, clip: bytes) -> None:
    rule_id = tenant.post("/v1/rules", {"name": "strict", "config": {"liveness": {"mode": "challenge"}}}).json()[
        "rule_id"
    ]
    refused = tenant.post("/v1/liveness", {"video": b64(clip), "rule_id": rule_id})
    assert refused.status_code == 400 and refused.json()["Error"]["Code"] == "MissingParameter"
    challenge_id = tenant.post("/v1/liveness/challenges").json()["challenge_id"]
    taken = tenant.post("/v1/liveness", {"video": b64(clip), "rule_id": rule_id, "challenge_id": challenge_id})
    assert taken.status_code == 200 and taken.json()["mode"] == "challenge"
