from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from attacks import screen_pattern

from openkyc.biometrics.types import BoundingBox, Face, Keypoints
from openkyc.liveness import LivenessChecker
from openkyc.liveness.silent import SilentEvidence, moire_peak
from openkyc.liveness.track import TrackedFace


def _tracked(size: int) -> TrackedFace:
    kp = Keypoints((30, 40), (70, 40), (50, 60), (35, 80), (65, 80))
    return TrackedFace(0, 0.0, Face(BoundingBox(0, 0, size, size), kp, 0.9), 0.0, 0.5, 1.0)


def test_moire_peak_is_higher_on_a_screen_pattern() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(128, 60, (160, 160, 3)).astype(np.float32)
    smooth = np.clip(cv2.GaussianBlur(noise, (0, 0), 3), 0, 255).astype(np.uint8)
    plain = moire_peak(smooth, _tracked(160))
    screened = moire_peak(screen_pattern(smooth, rng), _tracked(160))
    assert screened > 2 * plain


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
