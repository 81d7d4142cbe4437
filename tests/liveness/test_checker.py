from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from attacks import encode_video, read_frames

from openkyc.errors import InvalidParameterValue, VideoIsImage
from openkyc.liveness import LivenessChecker, LivenessResult, VideoLimits
from openkyc.liveness.checker import LivenessConfig


class NoFaces:
    def detect(self, image: np.ndarray) -> list[object]:
        return []


def _blank(seconds: float) -> bytes:
    frame = np.full((48, 64, 3), 90, np.uint8)
    return encode_video([frame] * round(25 * seconds), fps=25)


def test_unknown_mode_is_bad_input() -> None:
    with pytest.raises(InvalidParameterValue) as err:
        LivenessChecker(NoFaces()).check(_blank(2.5), mode="dance")  # type: ignore[arg-type]
    assert err.value.error_code == "InvalidParameterValue.LivenessMode"


def test_silent_too_short() -> None:
    result = LivenessChecker(NoFaces()).check(_blank(1.0), mode="silent")
    assert (result.live, result.code) == (False, "FailedOperation.SilentTooShort")
    error = result.error()
    assert error is not None and error.error_code == "FailedOperation.SilentTooShort"
    assert error.status_code == 422


def test_no_face_is_a_result_code() -> None:
    result = LivenessChecker(NoFaces()).check(_blank(2.5))
    assert result.code == "FailedOperation.LivessNoFace"
    assert result.to_dict()["best_frame_box"] is None


def test_limits_are_parameters() -> None:
    checker = LivenessChecker(NoFaces(), config=LivenessConfig(limits=VideoLimits(min_silent_duration_s=0.5)))
    assert checker.check(_blank(1.0)).code == "FailedOperation.LivessNoFace"


def test_image_bytes_are_refused(shared_data: Path) -> None:
    with pytest.raises(VideoIsImage):
        LivenessChecker(NoFaces()).check((shared_data / "antispoof-samples" / "image_F1.jpg").read_bytes())


def test_result_repr_hides_the_frame() -> None:
    result = LivenessResult(True, 99.0, "Success", "silent", {}, b"\xff\xd8secret")
    assert "secret" not in repr(result)


@pytest.mark.slow
def test_short_real_clip_is_too_short_for_silent(grid_clips: list[Path], checker: LivenessChecker) -> None:
    short = encode_video(read_frames(grid_clips[0])[:30], fps=25)  # 1.2 s
    assert checker.check(short).code == "FailedOperation.SilentTooShort"
