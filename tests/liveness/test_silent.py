from __future__ import annotations

from pathlib import Path

import pytest

from openkyc.liveness import LivenessChecker
from openkyc.liveness.silent import SilentConfig, SilentEvidence


def test_evidence_to_dict_is_json_ready() -> None:
    ev = SilentEvidence(0.5, 0.1, 10.0, 80.0, 0.01, 5, 99.0, 50.0, True)
    assert ev.to_dict()["live"] is True
    assert ev.to_dict()["nonrigid"] == 0.5


@pytest.mark.slow
def test_live_grid_clips_pass(grid_clips: list[Path], checker: LivenessChecker) -> None:
    for clip in grid_clips[:3]:
        result = checker.check(clip.read_bytes(), mode="silent")
        assert (result.live, result.code) == (True, "Success"), clip.name
        assert result.score >= 50
        assert result.best_frame is not None and result.best_frame.startswith(b"\xff\xd8")
        assert result.best_box is not None


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["still", "moved", "paper", "screen"])
def test_generated_attacks_fail(kind: str, attack_videos: dict[str, list[bytes]], checker: LivenessChecker) -> None:
    for video in attack_videos[kind]:
        result = checker.check(video, mode="silent")
        assert not result.live
        assert result.code in {"FailedOperation.LivessDetectFail", "FailedOperation.LivessMultiFaces"}
        assert result.score < 50


@pytest.mark.slow
def test_single_face_stretch_of_tv_clip_is_live(shared_data: Path, checker: LivenessChecker) -> None:
    from attacks import hamilton_single_face

    result = checker.check(hamilton_single_face(shared_data), mode="silent")
    assert (result.live, result.code) == (True, "Success")
    assert result.evidence["face_width_px"] >= 60  # type: ignore[operator]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "Mounish2311__Driver-Drowsiness-Detection__face.mp4",  # dim webcam, nearly still: the median cue refused it
        "georgeretsi__smirk__skarsgard.mp4",  # talk show: the old moire measure fired on it
    ],
)
def test_still_or_broadcast_live_people_pass(name: str, shared_data: Path, checker: LivenessChecker) -> None:
    result = checker.check((shared_data / "live-faces-varied" / name).read_bytes(), mode="silent")
    assert (result.live, result.code) == (True, "Success"), result.evidence["silent"]
    silent = result.evidence["silent"]
    assert isinstance(silent, dict)
    cfg = SilentConfig()
    recapture = silent["recapture"]
    assert recapture["border"] < cfg.border_max and recapture["moire"] <= cfg.moire_max


@pytest.mark.slow
@pytest.mark.parametrize("species", ["screen_hd", "screen_grid"])
def test_a_hand_held_replay_of_a_heldout_clip_is_refused(
    species: str, shared_data: Path, checker: LivenessChecker
) -> None:
    """A held-out clip (never tuned on) replayed on a screen held in a moving hand, bezel in view."""
    from replays import read_timed, replay

    frames, times = read_timed(shared_data / "live-faces-varied" / "OpenTalker__video-retalking__4.mp4")
    result = checker.check(replay(frames, times, 1001, species), mode="silent")
    assert (result.live, result.code) == (False, "FailedOperation.LivessDetectFail"), result.evidence["silent"]
    silent = result.evidence["silent"]
    assert isinstance(silent, dict)
    assert silent["nonrigid"] > 0.16  # the replayed face moves like a live one: the recapture cues refuse it
    cfg, recapture = SilentConfig(), silent["recapture"]
    assert recapture["border"] >= cfg.border_max or recapture["moire"] > cfg.moire_max
