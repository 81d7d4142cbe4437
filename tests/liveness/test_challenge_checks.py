"""Challenge mode on real footage: the photo floor, and the blink rule, with the real models.

Schedules are built from the onsets annotated in ``benchmarks/action_labels.csv`` (what a person
answering the prompts would have produced); photo attacks are generated from real photos
(``attacks.py``) and follow a schedule as well as a photo can.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from openkyc.liveness import LivenessChecker
from openkyc.liveness.challenge import DETECT_FAIL, SUCCESS, ChallengeConfig, Schedule, TimedAction
from openkyc.liveness.checker import LivenessConfig

pytestmark = pytest.mark.slow

CFG = ChallengeConfig()


def _one(action: str, prompt_ms: int, record_ms: int) -> Schedule:
    start = prompt_ms + CFG.reaction_ms
    return Schedule((TimedAction(action, prompt_ms, start, start + CFG.window_ms),), None, record_ms)


@pytest.mark.parametrize("kind", ["still", "moved", "paper", "screen"])
def test_photos_are_refused_by_the_floor_whatever_the_schedule(
    checker: LivenessChecker, attack_videos: dict[str, list[bytes]], kind: str
) -> None:
    for i, video in enumerate(attack_videos[kind]):
        action = ("mouth", "nod", "shake")[i % 3]
        result = checker.check(video, mode="challenge", schedule=_one(action, 300, 2900))
        assert not result.live
        judged = result.evidence.get("challenge")
        if judged is None:  # the face track itself was refused (before any schedule is judged)
            assert result.code.startswith("FailedOperation.Livess"), result.code
            continue
        assert result.code == DETECT_FAIL, judged
        assert judged["silent_score"] < CFG.min_silent_score  # type: ignore[index]


# annotated: blinks at 4100 and 4633 ms; the first is under way 33 ms after this prompt
BLINK_CLIP = "live-faces-varied/1zlab__1ZLAB_OpenCV_Face_Detection__face.mp4"


def test_a_blink_just_before_the_prompt_does_not_refuse_the_answer(checker: LivenessChecker, shared_data: Path) -> None:
    video = (shared_data / BLINK_CLIP).read_bytes()
    schedule = _one("blink", 4633 - 500, 6000)
    result = checker.check(video, mode="challenge", schedule=schedule)
    assert result.code == SUCCESS, result.evidence["challenge"]
    verdict = result.evidence["challenge"]["actions"][0]  # type: ignore[index]
    assert abs(verdict["onset_ms"] - 4633) <= 150
    assert result.evidence["challenge"]["silent_score"] >= CFG.min_silent_score  # type: ignore[index]
    strict = LivenessChecker(checker.detector, config=_strict(checker))
    before = strict.check(video, mode="challenge", schedule=schedule)
    assert before.code == "FailedOperation.ActionTooEarly"  # what the rule of every action would say


def _strict(checker: LivenessChecker) -> LivenessConfig:
    return replace(checker.config, challenge=replace(checker.config.challenge, early_free=()))
