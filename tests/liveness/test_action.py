from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from attacks import still_attack

from openkyc.biometrics.detection import YuNetDetector
from openkyc.biometrics.types import BoundingBox, Face, Keypoints
from openkyc.errors import InvalidParameterValue, MissingParameter
from openkyc.liveness import LivenessChecker, VideoLimits, parse_actions
from openkyc.liveness.action import ActionConfig, check_actions, detect_action, mouth_opening
from openkyc.liveness.track import FaceTrack, TrackedFace, build_track, pose
from openkyc.liveness.video import VideoFrame, decode_video


def _track(yaws: list[float], pitches: list[float]) -> FaceTrack:
    img = np.full((200, 200, 3), 128, np.uint8)
    kp = Keypoints((70, 80), (130, 80), (100, 110), (75, 140), (125, 140))
    face = Face(BoundingBox(50, 40, 100, 120), kp, 0.9)
    faces = tuple(TrackedFace(i, i / 10, face, y, p, 1.0) for i, (y, p) in enumerate(zip(yaws, pitches, strict=True)))
    frames = tuple(VideoFrame(i, i / 10, img) for i in range(len(faces)))
    return FaceTrack(faces, frames, 0, b"")


def _mouth_track(gaps: list[int]) -> FaceTrack:
    """Faces on a grey card whose lip gap below the mouth corners is ``gap`` px high (0: closed)."""
    kp = Keypoints((70, 80), (130, 80), (100, 110), (75, 140), (125, 140))
    face = Face(BoundingBox(50, 40, 100, 120), kp, 0.9)
    frames = []
    for i, gap in enumerate(gaps):
        img = np.full((200, 200, 3), 150, np.uint8)
        img[140:142, 85:115] = 115  # the lip line, always there
        if gap:
            img[141 : 141 + gap, 88:112] = 40
        frames.append(VideoFrame(i, i / 10, img))
    faces = tuple(TrackedFace(i, i / 10, face, 0.0, 0.5, 1.0) for i in range(len(gaps)))
    return FaceTrack(faces, tuple(frames), 0, b"")


def test_mouth_opening_and_closing_is_seen() -> None:
    ev, nxt = detect_action(_mouth_track([0, 0, 0, 0, 6, 10, 6, 0, 0, 0]), "mouth", 0, ActionConfig())
    assert ev.seen and ev.at_s == pytest.approx(0.4) and nxt == 5
    assert ev.measure >= ActionConfig().mouth_rise


def test_mouth_always_open_is_not_an_action() -> None:
    # a photo of an open mouth: dark, but the opening never changes
    ev, _ = detect_action(_mouth_track([10] * 10), "mouth", 0, ActionConfig())
    assert not ev.seen and ev.measure < 0.01


def test_shake_then_nod_in_order() -> None:
    yaws = [0.0, 0.0, 0.2, -0.2, 0.0, 0.0, 0.0, 0.0, 0.0]
    pitches = [0.5, 0.5, 0.5, 0.5, 0.5, 0.7, 0.5, 0.5, 0.5]
    ok = check_actions(_track(yaws, pitches), ["shake", "nod"])
    assert [a.seen for a in ok] == [True, True]
    assert ok[0].at_s is not None and ok[1].at_s is not None and ok[0].at_s < ok[1].at_s
    # the nod happened before the shake ended: asking nod first, then shake, fails the shake
    wrong = check_actions(_track(yaws, pitches), ["nod", "shake"])
    assert [a.seen for a in wrong] == [True, False]


def test_no_motion_no_action() -> None:
    ev = check_actions(_track([0.0] * 8, [0.5] * 8), ["nod"], ActionConfig())
    assert not ev[0].seen and ev[0].to_dict()["at_s"] is None


def test_pose_follows_a_turned_head() -> None:
    kp = Keypoints((70, 80), (130, 80), (120, 110), (75, 140), (125, 140))
    assert pose(Face(BoundingBox(0, 0, 1, 1), kp, 1.0))[0] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("actions", "error"),
    [
        (None, MissingParameter),
        ([], InvalidParameterValue),
        (["wink"], InvalidParameterValue),
        (["nod", "shake", "blink"], InvalidParameterValue),
    ],
)
def test_bad_actions(actions: list[str] | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_actions(actions)


def test_actions_from_comma_list() -> None:
    assert parse_actions(" Nod,shake ") == ["nod", "shake"]


@pytest.mark.slow
def test_talking_clip_opens_mouth(grid_clips: list[Path], checker: LivenessChecker) -> None:
    result = checker.check(grid_clips[0].read_bytes(), mode="action", actions=["mouth"])
    assert result.code == "Success"
    assert result.evidence["actions"][0]["seen"] is True  # type: ignore[index]


@pytest.mark.slow
def test_still_clip_fails_nod(grid_clips: list[Path], checker: LivenessChecker) -> None:
    result = checker.check(grid_clips[0].read_bytes(), mode="action", actions=["nod"])
    assert (result.live, result.code) == (False, "FailedOperation.ActionNodHead")


@pytest.mark.slow
def test_attacks_rejected_in_action_mode(attack_videos: dict[str, list[bytes]], checker: LivenessChecker) -> None:
    for kind, videos in attack_videos.items():
        result = checker.check(videos[0], mode="action", actions=["mouth"])
        assert not result.live, kind


@pytest.mark.slow
def test_weakest_speaker_opens_mouth(grid_clips: list[Path], checker: LivenessChecker) -> None:
    # lwbsza barely opens the mouth: the old dark-pixel rule missed it
    clip = next(p for p in grid_clips if p.stem == "lwbsza")
    result = checker.check(clip.read_bytes(), mode="action", actions=["mouth"])
    assert result.code == "Success"


@pytest.mark.slow
def test_still_photo_of_open_mouth_never_opens(
    grid_clips: list[Path], checker: LivenessChecker, detector: YuNetDetector
) -> None:
    # the most open frame of a talking clip, played as a still video: the mouth check alone rejects it
    limits = VideoLimits(sample_fps=15.0)
    frames = decode_video(grid_clips[3].read_bytes(), limits).frames
    track = build_track(frames, detector)
    best = max(track.faces, key=lambda f: mouth_opening(track.image(f), f))
    video = still_attack(cv2.resize(track.image(best), (640, 480)), 7)
    attack = build_track(decode_video(video, limits).frames, detector)
    ev, _ = detect_action(attack, "mouth", 0, ActionConfig())
    assert not ev.seen and ev.measure < ActionConfig().mouth_rise / 2
    assert not checker.check(video, mode="action", actions=["mouth"]).live
