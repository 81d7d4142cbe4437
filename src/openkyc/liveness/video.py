"""Video input for liveness: limits checked before decoding, rotation applied, frames sampled.

Accepted containers: MP4/MOV, WebM/Matroska, AVI and MPEG program/elementary streams, read with
PyAV. The order of checks is fixed so that a hostile file costs as little as possible:

1. size (``max_bytes``) on the raw bytes;
2. magic bytes: a JPEG/PNG/GIF/BMP/WebP/TIFF image is refused as :class:`VideoIsImage`;
3. the container is opened (not decoded); the format must be one of the accepted ones;
4. the duration from container or stream metadata must be at most ``max_duration_s``; when the
   metadata holds no duration, decoding stops as soon as a frame passes the limit;
5. frames are decoded and sampled at ``sample_fps`` (lowered so that at most ``max_frames`` are
   kept), scaled so that the longer side is at most ``max_side`` and rotated upright according
   to the display matrix.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import av
import numpy as np
import numpy.typing as npt

from openkyc.errors import (
    UnsupportedVideoFormat,
    VideoDecodeFailed,
    VideoDurationExceeded,
    VideoEmpty,
    VideoIsImage,
    VideoNoVideoStream,
    VideoTooLarge,
)

Image = npt.NDArray[np.uint8]

_IMAGE_MAGIC: tuple[bytes, ...] = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF
    b"MM\x00*",
)
_ACCEPTED_FORMATS = frozenset({"mov", "mp4", "matroska", "webm", "avi", "mpeg", "mpegvideo", "m4v"})


@dataclass(frozen=True)
class VideoLimits:
    """Input limits and sampling. Defaults: 8 MB, 20 s, silent mode needs 2 s, 10 fps, 60 frames."""

    max_bytes: int = 8 * 1024 * 1024
    max_duration_s: float = 20.0
    min_silent_duration_s: float = 2.0
    sample_fps: float = 10.0
    max_frames: int = 60
    max_side: int = 640
    max_pixels: int = 4096 * 4096
    threads: int = 1


@dataclass(frozen=True)
class VideoFrame:
    """One sampled frame (BGR, upright). The pixels are personal data: kept out of the repr."""

    index: int
    time_s: float
    image: Image = field(repr=False, compare=False)


@dataclass(frozen=True)
class DecodedVideo:
    """The sampled frames and what the container said about the video."""

    frames: tuple[VideoFrame, ...] = field(repr=False)
    duration_s: float
    source_fps: float
    width: int
    height: int
    container: str
    codec: str
    rotation: int


def _looks_like_image(data: bytes) -> bool:
    if data.startswith(_IMAGE_MAGIC):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _container_names(name: str) -> set[str]:
    return {part.strip() for part in name.split(",")}


def upright(image: Image, rotation_deg: float) -> Image:
    """Rotate ``image`` for display; ``rotation_deg`` is the display matrix angle (CCW)."""
    quarter = round(rotation_deg / 90.0) % 4
    if quarter == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=quarter))


def _scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale)) // 2 * 2, max(2, round(height * scale)) // 2 * 2


def _metadata_duration(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    """Duration in seconds from metadata, or 0.0 when the file does not say."""
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
        if seconds > 0:
            return seconds
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000.0
    if stream.frames and stream.average_rate:
        return float(stream.frames / stream.average_rate)
    return 0.0


def decode_video(data: bytes, limits: VideoLimits | None = None) -> DecodedVideo:
    """Check ``data`` against ``limits`` and return the sampled, upright frames.

    Raises VideoTooLarge, VideoIsImage, VideoDecodeFailed (corrupt or unreadable container),
    UnsupportedVideoFormat, VideoNoVideoStream, VideoDurationExceeded or VideoEmpty.
    """
    limits = limits or VideoLimits()
    if len(data) > limits.max_bytes:
        raise VideoTooLarge(f"The video is larger than {limits.max_bytes} bytes.")
    if len(data) == 0:
        raise VideoEmpty("The video is empty.")
    if _looks_like_image(data):
        raise VideoIsImage()
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoDecodeFailed("The video container could not be read.") from exc
    try:
        return _decode_open(container, limits)
    finally:
        container.close()


def _decode_open(container: av.container.InputContainer, limits: VideoLimits) -> DecodedVideo:
    names = _container_names(container.format.name)
    if names & {"image2", "jpeg_pipe", "png_pipe", "webp_pipe", "gif", "bmp_pipe"}:
        raise VideoIsImage()
    if not names & _ACCEPTED_FORMATS:
        raise UnsupportedVideoFormat()
    if not container.streams.video:
        raise VideoNoVideoStream()
    stream = container.streams.video[0]
    ctx = stream.codec_context
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width * height > limits.max_pixels:
        raise VideoDecodeFailed("The video frame size is too large.")
    duration = _metadata_duration(container, stream)
    if duration > limits.max_duration_s:
        raise VideoDurationExceeded(f"The video is longer than {limits.max_duration_s:g} s.")
    source_fps = float(stream.average_rate) if stream.average_rate else 0.0
    rate = limits.sample_fps
    if duration > 0:
        rate = min(rate, limits.max_frames / duration)
    ctx.thread_count = max(1, limits.threads)
    ctx.thread_type = "AUTO" if limits.threads > 1 else "SLICE"

    frames: list[VideoFrame] = []
    next_t = 0.0
    decoded = 0
    first_time: float | None = None
    rotation = 0
    last_t = 0.0
    try:
        for frame in container.decode(stream):
            t_raw = float(frame.time) if frame.time is not None else decoded / (source_fps or 25.0)
            if first_time is None:
                first_time = t_raw
                rotation = int(getattr(frame, "rotation", 0) or 0)
                width, height = frame.width, frame.height
                if width * height > limits.max_pixels:
                    raise VideoDecodeFailed("The video frame size is too large.")
            t = t_raw - first_time
            decoded += 1
            last_t = max(last_t, t)
            if t > limits.max_duration_s:
                raise VideoDurationExceeded(f"The video is longer than {limits.max_duration_s:g} s.")
            if t + 1e-6 < next_t or len(frames) >= limits.max_frames:
                continue
            w, h = _scaled_size(frame.width, frame.height, limits.max_side)
            image = np.asarray(frame.to_ndarray(format="bgr24", width=w, height=h), dtype=np.uint8)
            frames.append(VideoFrame(len(frames), t, upright(image, rotation)))
            next_t += 1.0 / rate
            while next_t < t:
                next_t += 1.0 / rate
    except (av.FFmpegError, ValueError, MemoryError) as exc:
        if not frames:
            raise VideoDecodeFailed("The video stream could not be decoded.") from exc
        # a truncated tail: keep what decoded
    if not frames:
        raise VideoEmpty()
    if duration <= 0:
        duration = last_t + (1.0 / source_fps if source_fps else 0.0)
    if rotation % 180:
        width, height = height, width
    return DecodedVideo(
        frames=tuple(frames),
        duration_s=duration,
        source_fps=source_fps,
        width=width,
        height=height,
        container=container.format.name,
        codec=ctx.name,
        rotation=rotation,
    )
