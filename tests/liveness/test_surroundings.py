"""The face's motion against its surroundings, and the head-turn rule that uses it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from openkyc.biometrics.types import BoundingBox, Face, Keypoints
from openkyc.liveness.challenge import Event
from openkyc.liveness.events import EventConfig, detect_events, moves_against_surroundings
from openkyc.liveness.surroundings import face_against_surroundings

RNG = np.random.default_rng(3)
SCENE = (RNG.random((600, 800)) * 255).astype(np.uint8)
SCENE = np.asarray(np.repeat(np.repeat(SCENE[::4, ::4], 4, 0), 4, 1)[:600, :800])  # 4 px texture: corners
FACE_TEXTURE = (RNG.random((160, 120)) * 255).astype(np.uint8)


def _frame(scene_dx: int, face_dx: int) -> tuple[np.ndarray, Face]:
    """A 640x480 view of the scene shifted by ``scene_dx``, a face patch at x 260 + ``face_dx``."""
    view = SCENE[60:540, 80 - scene_dx : 720 - scene_dx].copy()
    x = 260 + face_dx
    view[120:280, x : x + 120] = FACE_TEXTURE
    nose = (x + 60.0, 200.0)
    face = Face(
        BoundingBox(float(x), 120.0, 120.0, 160.0),
        Keypoints((x + 30.0, 170.0), (x + 90.0, 170.0), nose, (x + 35.0, 240.0), (x + 85.0, 240.0)),
        0.9,
    )
    return np.ascontiguousarray(np.dstack([view] * 3)), face


def test_a_whole_picture_moving_is_carried_by_the_surroundings() -> None:
    frames = [_frame(d, d) for d in (0, 6, 12, 18)]
    rel, bg = face_against_surroundings([f for f, _ in frames], [f for _, f in frames])
    # 18 px over an eye distance of 60 px: all of it explained by the surroundings
    assert bg[-1] == pytest.approx(18 / 60, abs=0.03) and rel[-1] == pytest.approx(0.0, abs=0.03)


def test_a_face_moving_against_still_surroundings_is_its_own_motion() -> None:
    frames = [_frame(0, d) for d in (0, 6, 12, 18)]
    rel, bg = face_against_surroundings([f for f, _ in frames], [f for _, f in frames])
    assert rel[-1] == pytest.approx(18 / 60, abs=0.03) and bg[-1] == pytest.approx(0.0, abs=0.03)


def test_plain_surroundings_count_as_still() -> None:
    image = np.full((480, 640, 3), 128, np.uint8)
    _, face = _frame(0, 0)
    _, moved = _frame(0, 12)
    rel, bg = face_against_surroundings([image, image], [face, moved])
    assert bg == [0.0, 0.0] and rel[1] == pytest.approx(12 / 60)


def test_a_turn_explained_by_the_surroundings_motion_is_not_an_event() -> None:
    times = [float(i * 66) for i in range(60)]
    yaw = [0.0] * 30 + [0.3] * 30
    still = [0.0] * 60
    moving = [0.0] * 30 + [0.5] * 30  # the picture moved half an eye distance with the turn
    cfg = replace(EventConfig(), turn_own_share=0.5)
    own_turn = {"yaw": yaw, "rel_x": moving, "bg_x": still}
    carried = {"yaw": yaw, "rel_x": [v * 0.2 for v in moving], "bg_x": moving}
    assert [e.action for e in detect_events(times, own_turn, cfg)] == ["shake"]
    assert detect_events(times, carried, cfg) == []
    # without the measures (older caches) or with the rule off, the turn is kept
    assert [e.action for e in detect_events(times, {"yaw": yaw}, cfg)] == ["shake"]
    assert [e.action for e in detect_events(times, carried, replace(cfg, turn_own_share=0.0))] == ["shake"]
    # no motion at all of the nose (a yaw change from keypoints alone) passes: nothing explains it away
    event = Event("shake", times[29], times[30], 0.3)
    assert moves_against_surroundings(event, times, {"rel_x": still, "bg_x": still}, 0.5)


@pytest.mark.slow
def test_real_footage_moved_as_a_whole_is_carried_by_its_surroundings(shared_data: Path, detector: object) -> None:
    """A tune clip, and the same frames shifted as a whole (a screen moved by a hand): its own
    turns against the background stay its own; the added shift is the surroundings'."""
    from openkyc.liveness.track import TrackConfig, build_track
    from openkyc.liveness.video import VideoFrame, VideoLimits, decode_video

    clip = "live-faces-varied/georgeretsi__smirk__skarsgard.mp4"
    decoded = decode_video((shared_data / clip).read_bytes(), VideoLimits(sample_fps=15, max_frames=30))
    config = replace(TrackConfig(), min_hist_corr=-1.0)
    track = build_track(decoded.frames, detector, config=config)  # type: ignore[arg-type]
    images = [track.image(f) for f in track.faces]
    rel, bg = face_against_surroundings(images, [f.face for f in track.faces])
    shifted_frames = []
    for i, vf in enumerate(decoded.frames):
        m = np.float32([[1, 0, 2.0 * i], [0, 1, 0]])  # 2 px a frame to the right, 58 px over 30 frames
        h, w = vf.image.shape[:2]
        shifted_frames.append(VideoFrame(vf.index, vf.time_s, cv2.warpAffine(vf.image, m, (w, h))))
    moved = build_track(tuple(shifted_frames), detector, config=config)  # type: ignore[arg-type]
    rel2, bg2 = face_against_surroundings([moved.image(f) for f in moved.faces], [f.face for f in moved.faces])
    shift = 0.0  # the added shift in inter-eye distances, as the measure normalises it (per frame pair)
    for a, b in zip(moved.faces, moved.faces[1:], strict=False):
        k = a.face.keypoints
        shift += (
            2.0 * (b.frame - a.frame) / float(np.hypot(k.left_eye[0] - k.right_eye[0], k.left_eye[1] - k.right_eye[1]))
        )
    assert bg2[-1] - bg[-1] == pytest.approx(shift, rel=0.25)
    assert rel2[-1] == pytest.approx(rel[-1], abs=0.25 * shift)
