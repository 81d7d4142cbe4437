"""The ``flicker`` recapture cue: brightness jitter shared by the whole region around the face.

Synthetic tracks (a textured room, a face region that changes on its own) for the cue's logic, and
real clips for its threshold: tune-split live clips stay under it, a tune clip replayed on a screen
that fills the view (no border, no pixel grid) is refused by it in silent mode, and reflection mode
(whose page flashes colours onto the face) does not let it decide."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from openkyc.biometrics.detection import YuNetDetector
from openkyc.biometrics.types import BoundingBox, Face, Keypoints
from openkyc.liveness import LivenessChecker
from openkyc.liveness.checker import LivenessConfig
from openkyc.liveness.recapture import RecaptureEvidence, flicker_level
from openkyc.liveness.silent import FLICKER_MAX, SilentConfig, silent_score
from openkyc.liveness.track import FaceTrack, TrackedFace
from openkyc.liveness.video import VideoFrame

H, W = 480, 640


def _room(seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), 12)
    base = 150 + 60 * base / (np.abs(base).max() + 1e-6)
    return np.repeat(base[..., None], 3, axis=2)


def _track(images: list[np.ndarray], box: BoundingBox) -> FaceTrack:
    kp = Keypoints((box.x + 30, box.y + 40), (box.x + 70, box.y + 40), (box.x + 50, box.y + 60),
                   (box.x + 35, box.y + 80), (box.x + 65, box.y + 80))  # fmt: skip
    frames = tuple(VideoFrame(i, i / 10, img) for i, img in enumerate(images))
    faces = tuple(TrackedFace(i, i / 10, Face(box, kp, 0.9), 0.0, 0.5, 1.0) for i in range(len(images)))
    return FaceTrack(faces, frames, 0, b"")


def _clip(gain_sd: float, talk: bool, seed: int = 1, n: int = 40) -> FaceTrack:
    """A still room with a face box at its centre; ``talk``: the mouth region darkens and brightens
    on its own; ``gain_sd``: every frame's brightness multiplied by an independent gain (a screen)."""
    rng = np.random.default_rng(seed)
    room, box = _room(), BoundingBox(270, 170, 100, 120)
    images = []
    for i in range(n):
        img = room.copy()
        if talk:  # a local change: only part of the region moves
            img[250:280, 300:340] *= 0.6 + 0.4 * (i % 3) / 2
        img *= 1.0 + rng.normal(0, gain_sd)
        img += rng.normal(0, 1.5, img.shape)  # sensor noise
        images.append(np.clip(img, 0, 255).astype(np.uint8))
    return _track(images, box)


def test_flicker_is_the_shared_brightness_jitter_not_local_change_or_noise() -> None:
    limit = FLICKER_MAX
    assert flicker_level(_clip(0.0, talk=False)) < 0.02  # sensor noise does not agree across the region
    assert flicker_level(_clip(0.0, talk=True)) < 0.02  # a mouth moving changes one quadrant only
    flickering = flicker_level(_clip(0.01, talk=True))  # a 1 % per-frame gain (the replays' screen)
    assert flickering > 2 * limit, flickering
    # a slow, smooth change of the light (a cloud, a camera's exposure settling) is far smaller
    rng = np.random.default_rng(2)
    room, box = _room(), BoundingBox(270, 170, 100, 120)
    ramp = [np.clip(room * (1 + 0.002 * i) + rng.normal(0, 1.5, room.shape), 0, 255).astype(np.uint8)
            for i in range(40)]  # fmt: skip
    assert flicker_level(_track(ramp, box)) < limit


def test_flicker_leaves_out_a_cut() -> None:
    """One frame that changes everything (a cut, a looped clip) moves a few pairs, not 40 % of them."""
    clip = _clip(0.0, talk=True)
    frames = list(clip.frames)
    frames[20] = VideoFrame(20, 2.0, np.clip(frames[20].image.astype(np.int16) + 40, 0, 255).astype(np.uint8))
    assert flicker_level(FaceTrack(clip.faces, tuple(frames), 0, b"")) < 0.02


def test_flicker_decides_at_its_threshold_only_when_switched_on() -> None:
    on = SilentConfig(flicker_max=FLICKER_MAX)
    recap = RecaptureEvidence(0.0, 0.0, 10.0, 0.6, 0.0, 0.02, -1.6, 1.0, 3.0, flicker=0.3)
    assert silent_score(1.0, recap, on) == 25.0
    assert SilentConfig().flicker_max is None  # opt-in: reported, not deciding, by default
    assert silent_score(1.0, recap, SilentConfig()) > 99
    calm = RecaptureEvidence(0.0, 0.0, 10.0, 0.6, 0.0, 0.02, -1.6, 1.0, 3.0, flicker=0.05)
    assert silent_score(1.0, calm, on) > 99


def _flicker(result: object) -> float:
    silent = result.evidence["silent"]  # type: ignore[attr-defined]
    assert isinstance(silent, dict)
    return float(silent["recapture"]["flicker"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "filby89__spectre__W023_level_2_surprised_010.mp4",  # a studio clip: the highest live flicker on tune
        "smeetrs__deep_avsr__00024.mp4",  # a 160x160 TV crop
    ],
)
def test_live_people_stay_under_the_flicker_threshold(name: str, shared_data: Path, checker: LivenessChecker) -> None:
    result = checker.check((shared_data / "live-faces-varied" / name).read_bytes(), mode="silent")
    assert _flicker(result) <= FLICKER_MAX / 1.5, result.evidence["silent"]
    assert (result.live, result.code) == (True, "Success")


@pytest.mark.slow
def test_a_screen_filling_the_view_is_refused_by_flicker(shared_data: Path, detector: YuNetDetector) -> None:
    from replays import read_timed, replay

    frames, times = read_timed(shared_data / "live-faces-varied" / "OpenTalker__video-retalking__2.mp4")
    checker = LivenessChecker(detector, config=LivenessConfig(silent=SilentConfig(flicker_max=FLICKER_MAX)))
    result = checker.check(replay(frames, times, 1003, "screen_close"), mode="silent")
    silent = result.evidence["silent"]
    assert isinstance(silent, dict)
    assert (result.live, result.code) == (False, "FailedOperation.LivessDetectFail"), silent
    assert silent["nonrigid"] > SilentConfig().threshold  # the replayed face moves like a live one
    recapture = silent["recapture"]
    assert recapture["border"] < 1.0 and recapture["moire"] <= 5.0  # neither older cue sees it
    assert _flicker(result) > 0.15, recapture


def test_reflection_mode_does_not_let_flicker_decide(detector: YuNetDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reflection page flashes colours onto the face: a shared brightness change on purpose."""
    import openkyc.liveness.checker as module

    seen: list[float | None] = []
    real = module.silent_evidence

    def spy(track: FaceTrack, config: SilentConfig | None = None) -> object:
        seen.append(None if config is None else config.flicker_max)
        return real(track, config)

    monkeypatch.setattr(module, "silent_evidence", spy)
    track = _clip(0.01, talk=True)
    switched_on = LivenessConfig(silent=SilentConfig(flicker_max=FLICKER_MAX))
    reflection = LivenessChecker(detector, config=switched_on)._decide(track, "reflection", [], None, {})
    silent = LivenessChecker(detector, config=switched_on)._decide(track, "silent", [], None, {})
    assert seen == [None, FLICKER_MAX]
    assert _flicker(reflection) == _flicker(silent) > 0.15  # measured and reported in both
