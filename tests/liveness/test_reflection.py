from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from attacks import encode_video, read_frames, tint_sequence

from openkyc.biometrics.detection import YuNetDetector
from openkyc.errors import MissingParameter
from openkyc.liveness import LivenessChecker, ReflectSequence, new_sequence
from openkyc.liveness.reflection import PALETTE


def test_new_sequence_shape_and_uniqueness() -> None:
    seqs = [new_sequence() for _ in range(50)]
    assert len({s.sequence_id for s in seqs}) == 50
    for s in seqs:
        assert 4 <= len(s.colours) <= 6 and len(s.durations_ms) == len(s.colours)
        assert all(300 <= d <= 500 for d in s.durations_ms)
        assert all(c in PALETTE.values() for c in s.colours)
        assert all(a != b for a, b in itertools.pairwise(s.colours))
        assert ReflectSequence.from_dict(s.to_dict()) == s


def _tinted(clip: Path, seq: ReflectSequence, detector: YuNetDetector) -> bytes:
    frames = read_frames(clip)
    box = detector.detect(frames[0])[0].box
    tinted = tint_sequence(frames, 25, seq.colours, seq.durations_ms, (int(box.x), int(box.y), int(box.w), int(box.h)))
    return encode_video(tinted, fps=25)


@pytest.mark.slow
def test_reflection_matches_only_its_sequence(
    grid_clips: list[Path], detector: YuNetDetector, checker: LivenessChecker
) -> None:
    red, green, blue, yellow = PALETTE["red"], PALETTE["green"], PALETTE["blue"], PALETTE["yellow"]
    seq = ReflectSequence("a", (red, green, blue, yellow, red), (400, 350, 500, 300, 450))
    other = ReflectSequence("b", (blue, yellow, red, green, blue), (400, 350, 500, 300, 450))
    video = _tinted(grid_clips[1], seq, detector)
    ok = checker.check(video, mode="reflection", sequence=seq)
    assert (ok.live, ok.code) == (True, "Success")
    wrong = checker.check(video, mode="reflection", sequence=other)
    assert (wrong.live, wrong.code) == (False, "FailedOperation.LivessReflectFail")
    untinted = checker.check(grid_clips[1].read_bytes(), mode="reflection", sequence=seq)
    assert untinted.code == "FailedOperation.LivessReflectFail"


def test_reflection_needs_a_sequence(checker: LivenessChecker) -> None:
    with pytest.raises(MissingParameter):
        checker.check(b"x", mode="reflection")
