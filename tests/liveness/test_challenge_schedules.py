"""The benchmark's schedules: fitted to real onsets (BPCER) and drawn at random into a recording (APCER)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from challenge_schedules import onset_schedules, random_fitted, upper_bound

from openkyc.liveness.challenge import ChallengeConfig, Event, verify_schedule

CFG = ChallengeConfig()


def test_onset_schedules_prompt_each_labelled_onset_and_pass_when_the_detector_agrees() -> None:
    labelled = [Event("shake", 1200.0, 1800.0), Event("mouth", 3500.0, 4000.0), Event("blink", 2000.0, 2100.0)]
    (s,) = onset_schedules(labelled, 6000.0, 500, CFG)
    assert [(a.action, a.prompt_ms, a.window_start_ms) for a in s.actions] == [
        ("shake", 700, 850),
        ("mouth", 3000, 3150),
    ]
    assert s.record_ms == 6000 and s.actions[1].window_end_ms == 4650
    detected = [Event("shake", 1230.0, 1700.0), Event("mouth", 3480.0, 3900.0)]
    assert verify_schedule(s, detected, duration_ms=6000.0, face_times_ms=[float(t) for t in range(0, 6000, 66)]).live
    # a detector that fires early (already under way at the prompt) refuses it: the BPCER counts that
    early = [Event("shake", 1230.0, 1700.0), Event("mouth", 2900.0, 3900.0)]
    assert not verify_schedule(s, early, duration_ms=6000.0, face_times_ms=[float(t) for t in range(0, 6000, 66)]).live


def test_onset_schedules_skip_what_cannot_be_prompted() -> None:
    assert onset_schedules([Event("mouth", 200.0, 500.0)], 3000.0, 300, CFG) == []  # prompt before the start
    assert onset_schedules([Event("nod", 2900.0, 3000.0)], 3000.0, 300, CFG) == []  # too close to the end
    close = [Event("mouth", 1000.0, 1200.0), Event("shake", 1500.0, 1900.0)]  # windows would overlap
    assert onset_schedules(close, 6000.0, 300, CFG) == []
    two = [Event("shake", 1000.0, 1200.0), Event("shake", 4000.0, 4500.0)]
    assert len(onset_schedules(two, 6000.0, 300, CFG)) == 2  # one schedule per labelled turn


def test_random_fitted_schedules_fit_the_recording_and_move() -> None:
    rng = random.Random(3)
    drawn = [random_fitted(("mouth", "nod", "shake"), 6000.0, CFG, rng, 300) for _ in range(200)]
    assert all(s is not None and s.validate() is None and s.actions[-1].window_end_ms <= 6000 for s in drawn)
    assert all(s is not None and s.actions[0].prompt_ms >= 300 and s.record_ms <= 6000 for s in drawn)
    firsts = {s.actions[0].prompt_ms for s in drawn if s is not None}
    lasts = {s.actions[-1].prompt_ms for s in drawn if s is not None}
    assert len(firsts) > 50 and len(lasts) > 50
    ones = [random_fitted(("mouth",), 6000.0, CFG, rng) for _ in range(200)]
    assert min(s.actions[0].prompt_ms for s in ones if s) >= CFG.lead_ms[0]  # the real shortest lead
    assert max(s.actions[0].window_end_ms for s in ones if s) > 5800  # up to the end of the recording
    # three windows need 600 + 3 x 1650 + 2 x 200 ms: 5950 ms
    assert random_fitted(("mouth", "nod", "shake"), 5900.0, CFG, rng) is None
    assert random_fitted(("mouth", "nod", "shake"), 5950.0, CFG, rng) is not None


@pytest.mark.parametrize(("k", "n", "bound"), [(0, 11, 0.2384), (0, 55, 0.0530), (1, 20, 0.2161), (5, 5, 1.0)])
def test_upper_bound_is_the_exact_one_sided_95_percent_bound(k: int, n: int, bound: float) -> None:
    assert upper_bound(k, n) == pytest.approx(bound, abs=2e-4)
    assert upper_bound(0, 0) is None
