"""Generated presentation attacks and synthetic live-like clips, reusable by tests and benchmarks.

Every generator takes a BGR photo (numpy array) and a seed and returns encoded video bytes
(H.264 in MP4 unless told otherwise). Nothing here is written to disk.

Attack types (ISO/IEC 30107 "presentation attack instruments"):

- ``still``: the photo filling the camera view, played as video with sensor noise and a
  small exposure flicker, then compressed;
- ``moved``: the photo as a plane held in a hand in front of a background, moved, turned and
  scaled by smooth random homographies;
- ``paper``: the photo printed on white paper with the paper border visible, held and moved;
- ``screen``: the photo shown on a device screen (black bezel, moire and scanlines, blue cast),
  held and moved slightly.

Live-like clips: ``tint_sequence`` tints the face region of a real clip according to a reflection
colour sequence; ``hamilton_single_face`` cuts the single-face stretch of the facerec example
clip. No head-turn or blink clip is generated: a 2-D warp of a frame is a rigid plane, which silent
liveness rightly rejects, so nod/shake/blink logic is tested on synthetic keypoint tracks only.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
W, H = 640, 480
FPS = 15


def encode_video(
    frames: Iterable[Image],
    *,
    fps: int = FPS,
    container: str = "mp4",
    codec: str = "libx264",
    crf: int = 23,
) -> bytes:
    """Encode BGR frames (all the same even size) into an in-memory video."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        started = False
        for image in frames:
            if not started:
                stream.height, stream.width = image.shape[:2]
                started = True
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def read_frames(path: Path, limit: int = 1000) -> list[Image]:
    """All frames of a real clip (BGR), for building derived clips."""
    frames: list[Image] = []
    with av.open(str(path)) as src:
        for frame in src.decode(video=0):
            frames.append(frame.to_ndarray(format="bgr24"))
            if len(frames) >= limit:
                break
    return frames


def _fit(photo: Image, width: int, height: int) -> Image:
    """Scale and centre-crop ``photo`` to exactly ``width`` x ``height``."""
    h, w = photo.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(photo, (max(width, round(w * scale)), max(height, round(h * scale))))
    y0 = (resized.shape[0] - height) // 5  # keep the upper part, where the face is
    x0 = (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])


def _camera(image: Image, rng: np.random.Generator, noise: float = 2.5) -> Image:
    """Sensor noise, slight blur and exposure flicker of a cheap camera."""
    img = cv2.GaussianBlur(image, (3, 3), 0.6).astype(np.float32)
    img *= 1.0 + rng.normal(0, 0.01)
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _background(rng: np.random.Generator) -> Image:
    """An indoor-like background: a smooth gradient with a few blurred shapes."""
    base = rng.uniform(60, 200, 3)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    grad = (xx / W - 0.5) * rng.uniform(-60, 60) + (yy / H - 0.5) * rng.uniform(-60, 60)
    bg = np.clip(base[None, None, :] + grad[..., None], 0, 255).astype(np.uint8)
    for _ in range(4):
        colour = tuple(int(c) for c in rng.uniform(30, 230, 3))
        x, y = int(rng.uniform(0, W)), int(rng.uniform(0, H))
        cv2.rectangle(bg, (x, y), (x + int(rng.uniform(40, 200)), y + 120), colour, -1)
    return cv2.GaussianBlur(bg, (0, 0), 6)


def _smooth_path(rng: np.random.Generator, n: int, amp: float) -> npt.NDArray[np.float64]:
    """A smooth random 1-D path of ``n`` samples with amplitude about ``amp``."""
    t = np.linspace(0, 1, n)
    phase, freq = rng.uniform(0, 2 * np.pi, 2), rng.uniform(0.5, 1.5, 2)
    return amp * (0.6 * np.sin(2 * np.pi * freq[0] * t + phase[0]) + 0.4 * np.sin(4 * np.pi * freq[1] * t + phase[1]))


def _held(
    plane: Image,
    rng: np.random.Generator,
    n: int,
    motion: float,
    alpha: Image | None = None,
) -> list[Image]:
    """Frames of ``plane`` held in a hand over a background, moved by smooth homographies."""
    bg = _background(rng)
    ph, pw = plane.shape[:2]
    scale0 = min(0.8 * W / pw, 0.9 * H / ph)
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    paths = [_smooth_path(rng, n, a * motion) for a in (40, 30, 8, 0.08, 0.12, 0.12)]
    mask = alpha if alpha is not None else np.full((ph, pw), 255, np.uint8)
    frames = []
    for i in range(n):
        tx, ty, rot, sc, tilt_x, tilt_y = (p[i] for p in paths)
        s = scale0 * (1 + sc)
        cx, cy = W / 2 + tx, H / 2 + ty
        c, si = np.cos(np.radians(rot)), np.sin(np.radians(rot))
        corners = []
        for x, y in src - np.float32([pw / 2, ph / 2]):
            depth = 1 + tilt_x * x / pw + tilt_y * y / ph
            u, v = s * x / depth, s * y / depth
            corners.append([cx + c * u - si * v, cy + si * u + c * v])
        hom = cv2.getPerspectiveTransform(src, np.float32(corners))
        warped = cv2.warpPerspective(plane, hom, (W, H), flags=cv2.INTER_LINEAR)
        m = cv2.warpPerspective(mask, hom, (W, H)).astype(np.float32)[..., None] / 255
        frame = (warped * m + bg * (1 - m)).astype(np.uint8)
        frames.append(_camera(frame, rng))
    return frames


def still_attack(photo: Image, seed: int = 0, seconds: float = 3.0) -> bytes:
    """The photo filling the camera view, played as video (noise + compression, no motion)."""
    rng = np.random.default_rng(seed)
    base = _fit(photo, W, H)
    return encode_video(_camera(base, rng) for _ in range(round(seconds * FPS)))


def moved_attack(photo: Image, seed: int = 0, seconds: float = 3.0) -> bytes:
    """The photo (cut to its edges) moved, turned and scaled as if held in a hand."""
    rng = np.random.default_rng(seed)
    plane = _fit(photo, 360, 440)
    return encode_video(_held(plane, rng, round(seconds * FPS), motion=1.0))


def paper_attack(photo: Image, seed: int = 0, seconds: float = 3.0) -> bytes:
    """The photo printed on white paper (border visible), held and moved slightly."""
    rng = np.random.default_rng(seed)
    pic = _fit(photo, 300, 360)
    paper = np.full((440, 360, 3), 235, np.uint8)
    paper[30 : 30 + 360, 30 : 30 + 300] = pic
    return encode_video(_held(paper, rng, round(seconds * FPS), motion=0.5))


def screen_pattern(image: Image, rng: np.random.Generator) -> Image:
    """Moire (two slightly rotated gratings), scanlines and a blue cast of a display."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(3.0, 6.0)
    moire = np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    scan = np.sin(2 * np.pi * yy / rng.uniform(2.5, 4.0))
    img = image.astype(np.float32) * np.float32([1.08, 1.0, 0.9])
    img *= (1 + 0.08 * moire + 0.06 * scan)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def screen_attack(photo: Image, seed: int = 0, seconds: float = 3.0) -> bytes:
    """The photo on a tablet screen (black bezel, moire, scanlines), held almost still."""
    rng = np.random.default_rng(seed)
    device = np.full((440, 340, 3), 15, np.uint8)
    device[20:420, 20:320] = screen_pattern(_fit(photo, 300, 400), rng)
    return encode_video(_held(device, rng, round(seconds * FPS), motion=0.3))


ATTACKS: dict[str, Callable[[Image, int], bytes]] = {
    "still": lambda photo, seed: still_attack(photo, seed),
    "moved": lambda photo, seed: moved_attack(photo, seed),
    "paper": lambda photo, seed: paper_attack(photo, seed),
    "screen": lambda photo, seed: screen_attack(photo, seed),
}


def attack_photos(shared_data: Path, limit: int = 12) -> list[Path]:
    """Single-face photos of real people used as attack sources (deterministic order)."""
    fr = shared_data / "facerec-examples" / "identities"
    picked = [
        fr / "obama" / "obama.jpg",
        fr / "obama" / "obama2.jpg",
        fr / "biden" / "biden.jpg",
        fr / "biden" / "biden2.jpg",
        fr / "kit_harington" / "john2.jpeg",
        fr / "lin_manuel_miranda" / "lin-manuel-miranda.png",
        fr / "alex_lacamoire" / "alex-lacamoire.png",
        fr / "rose_leslie" / "img2.jpg",
        shared_data / "antispoof-samples" / "history" / "c0d7a7c_image_T1.jpg",
    ]
    johns = sorted((shared_data / "dlib-johns").glob("John_*/*.jpg"))
    picked += johns[::11]
    return [p for p in picked if p.is_file()][:limit]


def live_clips(shared_data: Path) -> list[Path]:
    """The real live clips: 11 GRID talking faces and the facerec example video."""
    grid = sorted((shared_data / "grid-talking-face-videos").glob("*.mpg"))
    return [*grid, shared_data / "facerec-examples" / "video" / "short_hamilton_clip.mp4"]


def tint_sequence(
    frames: Sequence[Image],
    fps: float,
    colours: Sequence[tuple[int, int, int]],
    durations_ms: Sequence[int],
    box: tuple[int, int, int, int],
    strength: float = 0.25,
) -> list[Image]:
    """Tint the face region ``box`` (x, y, w, h) of ``frames`` with a timed RGB colour sequence.

    Simulates the screen's light reflecting off the face: the face region is blended towards the
    colour for the colour's duration (with a soft-edged mask), the rest of the frame is untouched.
    """
    x, y, w, h = box
    mask = np.zeros(frames[0].shape[:2], np.float32)
    cv2.ellipse(mask, (x + w // 2, y + h // 2), (w // 2, h // 2), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, w / 10))[..., None]
    ends = np.cumsum(durations_ms) / 1000.0
    out = []
    for i, frame in enumerate(frames):
        t = i / fps
        k = int(np.searchsorted(ends, t, side="right"))
        if k >= len(colours):
            out.append(frame)
            continue
        r, g, b = colours[k]
        tint = np.float32([b, g, r])[None, None, :]
        img = frame.astype(np.float32)
        blended = img * (1 - strength * mask) + tint * strength * mask * (img.mean() / 128.0)
        out.append(np.clip(blended, 0, 255).astype(np.uint8))
    return out


def hamilton_single_face(shared_data: Path) -> bytes:
    """The 2.8-6.4 s stretch of the facerec example clip, where one performer fills the view.

    The whole clip is an edited TV recording with cuts and an audience (many faces), which
    liveness correctly refuses as ``LivessMultiFaces``; this stretch is a usable live clip.
    """
    path = shared_data / "facerec-examples" / "video" / "short_hamilton_clip.mp4"
    frames: list[Image] = []
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        start: float | None = None
        for frame in src.decode(stream):
            t = float(frame.time or 0.0)
            start = t if start is None else start
            if 2.8 <= t - start <= 6.4:
                frames.append(frame.to_ndarray(format="bgr24"))
    return encode_video(frames, fps=30, crf=20)
