from __future__ import annotations

import io
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from attacks import encode_video

from openkyc.errors import (
    OpenKYCError,
    UnsupportedVideoFormat,
    VideoDecodeFailed,
    VideoDurationExceeded,
    VideoEmpty,
    VideoIsImage,
    VideoNoVideoStream,
    VideoTooLarge,
)
from openkyc.liveness.video import VideoLimits, decode_video, upright


def _frames(n: int, w: int = 64, h: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


@pytest.mark.parametrize(
    ("container", "codec"),
    [("mp4", "libx264"), ("webm", "libvpx-vp9"), ("avi", "mpeg4"), ("mpeg", "mpeg1video")],
)
def test_accepted_containers(container: str, codec: str) -> None:
    data = encode_video(_frames(50), fps=25, container=container, codec=codec)
    video = decode_video(data)
    assert 1.5 < video.duration_s < 2.5
    assert len(video.frames) == pytest.approx(20, abs=2)  # 10 fps sampling
    assert video.frames[0].image.shape == (48, 64, 3)


def test_max_frames_lowers_the_sampling_rate() -> None:
    data = encode_video(_frames(100), fps=25)
    video = decode_video(data, VideoLimits(max_frames=8))
    assert len(video.frames) <= 8
    assert video.frames[-1].time_s > 3.0  # spread over the whole video


def _two_hour_video() -> bytes:
    """13 frames, one every 10 minutes: a 2-hour video of 2 kB."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(1, 600))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(13):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(600, 1)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def test_two_hour_video_refused_from_metadata_without_decoding() -> None:
    data = _two_hour_video()
    started = time.perf_counter()
    with pytest.raises(VideoDurationExceeded) as err:
        decode_video(data)
    assert time.perf_counter() - started < 0.05
    assert err.value.error_code == "InvalidParameterValue.VideoDurationExceeded"


def test_long_video_refused() -> None:
    with pytest.raises(VideoDurationExceeded):
        decode_video(encode_video(_frames(25), fps=1))  # 25 s


def test_size_limit() -> None:
    with pytest.raises(VideoTooLarge):
        decode_video(b"\x00" * 101, VideoLimits(max_bytes=100))


def test_image_is_not_a_video(shared_data: Path) -> None:
    data = (shared_data / "antispoof-samples" / "image_T1.jpg").read_bytes()
    with pytest.raises(VideoIsImage) as err:
        decode_video(data)
    assert err.value.error_code == "InvalidParameterValue.VideoIsImage"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", VideoEmpty),
        (b"not a video at all" * 50, VideoDecodeFailed),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, VideoIsImage),
    ],
)
def test_bad_bytes(data: bytes, error: type[OpenKYCError]) -> None:
    with pytest.raises(error):
        decode_video(data)


def _audio_only(fmt: str, codec: str) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def test_no_video_stream() -> None:
    with pytest.raises(VideoNoVideoStream) as err:
        decode_video(_audio_only("matroska", "pcm_s16le"))
    assert err.value.error_code == "InvalidParameterValue.VideoNoVideoStream"


def test_unsupported_container() -> None:
    with pytest.raises(UnsupportedVideoFormat):
        decode_video(_audio_only("wav", "pcm_s16le"))


def test_truncated_container_keeps_decoded_frames_or_fails_cleanly() -> None:
    data = encode_video(_frames(50), fps=25)
    for cut in (200, len(data) // 2):
        try:
            video = decode_video(data[:cut])
        except (VideoDecodeFailed, VideoEmpty):
            continue
        assert video.frames


def test_upright_rotates_counter_clockwise() -> None:
    img = np.zeros((2, 3, 3), np.uint8)
    img[0, 2] = 255  # top-right corner
    turned = upright(img, 90)
    assert turned.shape == (3, 2, 3)
    assert turned[0, 0].max() == 255  # top-right goes to top-left after a CCW quarter turn
    assert upright(img, 0) is img


@pytest.mark.slow
def test_real_clips_decode(shared_data: Path) -> None:
    grid = decode_video((shared_data / "grid-talking-face-videos" / "bbaf2n.mpg").read_bytes())
    assert (grid.width, grid.height, round(grid.duration_s)) == (360, 288, 3)
    assert len(grid.frames) == 30
    mp4 = decode_video((shared_data / "facerec-examples/video/short_hamilton_clip.mp4").read_bytes())
    assert mp4.frames[0].time_s == 0.0 and len(mp4.frames) == 60  # 10 s capped at 60 frames
