from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from attacks import encode_video, read_frames

from openkyc.biometrics.detection import YuNetDetector
from openkyc.biometrics.types import BoundingBox, Face, Image, Keypoints
from openkyc.errors import FailedOperation
from openkyc.liveness.track import build_track, pose
from openkyc.liveness.video import VideoFrame, decode_video


def _face(x: float, y: float, w: float = 100.0, nose_dx: float = 0.0) -> Face:
    kp = Keypoints(
        right_eye=(x + 30, y + 40),
        left_eye=(x + 70, y + 40),
        nose=(x + 50 + nose_dx, y + 60),
        mouth_right=(x + 35, y + 80),
        mouth_left=(x + 65, y + 80),
    )
    return Face(BoundingBox(x, y, w, w), kp, 0.9)


class FakeDetector:
    def __init__(self, per_frame: list[list[Face]]) -> None:
        self.per_frame = per_frame
        self.calls = 0

    def detect(self, image: Image) -> list[Face]:
        faces = self.per_frame[self.calls % len(self.per_frame)]
        self.calls += 1
        return faces


def _frames(n: int) -> tuple[VideoFrame, ...]:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    return tuple(VideoFrame(i, i / 10, img) for i in range(n))


@pytest.mark.parametrize(
    ("per_frame", "code"),
    [
        ([[]], "FailedOperation.LivessNoFace"),
        ([[_face(50, 50)], [], [], []], "FailedOperation.LivessFaceLost"),
        ([[_face(50, 50), _face(180, 60, 80)]], "FailedOperation.LivessMultiFaces"),
        ([[_face(20, 50)], [_face(200, 50)]], "FailedOperation.LivessFaceChanged"),
    ],
)
def test_track_failures(per_frame: list[list[Face]], code: str) -> None:
    with pytest.raises(FailedOperation) as err:
        build_track(_frames(8), FakeDetector(per_frame))
    assert err.value.error_code == code


def test_small_background_face_is_ignored() -> None:
    track = build_track(_frames(6), FakeDetector([[_face(50, 50), _face(250, 10, 20)]]))
    assert len(track.faces) == 6
    assert track.best_jpeg.startswith(b"\xff\xd8")


def test_pose_proxies() -> None:
    yaw, pitch, roll = pose(_face(0, 0))
    assert (yaw, roll) == (pytest.approx(0.0), pytest.approx(0.0))
    assert pitch == pytest.approx(0.5)
    assert pose(_face(0, 0, nose_dx=12))[0] == pytest.approx(0.3)


@pytest.mark.slow
def test_real_clip_one_face_and_best_frame(shared_data: Path, detector: YuNetDetector) -> None:
    video = decode_video((shared_data / "grid-talking-face-videos" / "lbax4n.mpg").read_bytes())
    track = build_track(video.frames, detector)
    assert len(track.faces) == len(video.frames)
    assert track.best_jpeg.startswith(b"\xff\xd8")
    assert track.best_face.face.box.w > 80


@pytest.mark.slow
def test_identity_change_mid_video(grid_clips: list[Path], detector: YuNetDetector) -> None:
    spliced = encode_video(read_frames(grid_clips[0])[:40] + read_frames(grid_clips[3])[:40], fps=25)
    with pytest.raises(FailedOperation) as err:
        build_track(decode_video(spliced).frames, detector)
    assert err.value.error_code == "FailedOperation.LivessFaceChanged"


@pytest.mark.slow
def test_edited_tv_clip_with_audience_is_multi_face(shared_data: Path, detector: YuNetDetector) -> None:
    data = (shared_data / "facerec-examples" / "video" / "short_hamilton_clip.mp4").read_bytes()
    with pytest.raises(FailedOperation) as err:
        build_track(decode_video(data).frames, detector)
    assert err.value.error_code == "FailedOperation.LivessMultiFaces"
