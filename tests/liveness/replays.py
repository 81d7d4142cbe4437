"""Screen replays of real live clips, made at test time (never stored): the attack liveness must stop.

A replay shows a recording of a live person on a device screen held in front of the camera. Each
generator takes the clip's frames with their times (ms) and a seed, and returns an encoded video at
15 fps with the same timing as the source (the frame at time t shows the source at time t), so the
actions in the recording happen at the same moments in the replay. Species (ISO/IEC 30107-3 PAI
species; several screen sizes and distances come from the seed):

- ``screen_hd``: a high-density phone screen (no pixel grid resolved), its bezel visible (4-19 px
  on a 300x400 screen; dark, or a light case one time in four; upright phone or a tablet on its
  side), held in a moving hand; the display's black and white levels, gamma and colour cast drawn
  per replay, a faint veil of reflected room light, the filming camera's sensor noise;
- ``screen_grid``: a low-density screen whose pixel grid the camera resolves (moire, scanlines);
- ``screen_close``: the screen held so close that it fills the camera view (no border);
- ``screen_glare``: ``screen_hd`` with a moving specular reflection of a room light;
- ``screen_defocus``: ``screen_hd`` out of focus (the camera focused on the hand).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import av
import cv2
import numpy as np
from attacks import FPS, H, Image, W, _background, _fit, _smooth_path, encode_video, screen_pattern


def read_timed(path: Path, max_side: int = 640, max_s: float = 8.0) -> tuple[list[Image], list[float]]:
    """The frames of a real clip (BGR, longer side at most ``max_side``) and their times in ms."""
    frames: list[Image] = []
    times: list[float] = []
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        start: float | None = None
        for frame in src.decode(stream):
            t = float(frame.time or 0.0)
            start = t if start is None else start
            if t - start > max_s:
                break
            scale = min(1.0, max_side / max(frame.width, frame.height))
            w, h = round(frame.width * scale) // 2 * 2, round(frame.height * scale) // 2 * 2
            frames.append(frame.to_ndarray(format="bgr24", width=w, height=h))
            times.append((t - start) * 1000.0)
    return frames, times


def resample(frames: Sequence[Image], times_ms: Sequence[float], fps: int = FPS) -> list[Image]:
    """The source frames at ``fps``: frame k shows the last source frame at or before k / fps."""
    out: list[Image] = []
    duration = times_ms[-1] if times_ms else 0.0
    j = 0
    for k in range(int(duration * fps / 1000.0) + 1):
        t = k * 1000.0 / fps
        while j + 1 < len(times_ms) and times_ms[j + 1] <= t:
            j += 1
        out.append(frames[j])
    return out


def display_lut(rng: np.random.Generator) -> Image:
    """Per-channel (B, G, R) lookup of a display as the camera sees it: black level, white level,
    gamma and colour cast all vary from device to device (and with the camera's exposure)."""
    x = np.arange(256, dtype=np.float32) / 255.0
    black = rng.uniform(0.01, 0.07)
    span = rng.uniform(0.82, 0.97) - black
    y = black + span * np.power(x, rng.uniform(0.8, 1.05))
    cast = rng.uniform(0.0, 0.07)  # LCD/OLED white points are bluer than indoor light
    lut = np.stack([y * (1 + cast), y, y * (1 - cast)], axis=-1)
    return np.clip(lut * 255.0, 0, 255).astype(np.uint8).reshape(256, 1, 3)


def _display(image: Image, lut: Image, rng: np.random.Generator, *, grid: bool) -> Image:
    """What the screen emits (``lut``); its pixel grid too if ``grid``."""
    out = np.asarray(cv2.LUT(image, lut), dtype=np.uint8)
    return screen_pattern(out, rng) if grid else out


def _sensor(image: Image, rng: np.random.Generator, noise: float) -> Image:
    """The filming camera: slight blur, exposure flicker and sensor noise (fast integer version)."""
    img = cv2.GaussianBlur(image, (3, 3), 0.6)
    gain = 1.0 + rng.normal(0, 0.01)
    noisy = np.empty(img.shape, np.int16)
    cv2.randn(noisy, 0, noise)
    out = cv2.add(cv2.convertScaleAbs(img, alpha=gain).astype(np.int16), noisy)
    return np.clip(out, 0, 255).astype(np.uint8)


def _glare(frame: Image, i: int, n: int, rng_seed: int) -> Image:
    rng = np.random.default_rng(rng_seed)
    cx0, cy0 = rng.uniform(0.3, 0.7) * W, rng.uniform(0.2, 0.5) * H
    cx = cx0 + 60 * np.sin(2 * np.pi * i / max(n, 1))
    cy = cy0 + 30 * np.cos(2 * np.pi * i / max(n, 1))
    mask = np.zeros((H, W), np.float32)
    cv2.ellipse(mask, (int(cx), int(cy)), (int(rng.uniform(40, 90)), int(rng.uniform(20, 50))), 30, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 15)[..., None]
    return np.clip(frame.astype(np.float32) + 170 * mask, 0, 255).astype(np.uint8)


def _held_screen(
    frames: Sequence[Image], rng: np.random.Generator, *, grid: bool, fill: float, motion: float
) -> list[Image]:
    """The frames on a device (screen + bezel) held in a hand: one smooth homography per frame."""
    n = len(frames)
    sh, sw = (400, 300) if rng.uniform() < 0.7 else (300, 400)  # phone upright, or a tablet on its side
    bezel = int(rng.integers(4, 20))  # thin modern bezels to thick older ones
    case = int(rng.uniform(5, 40)) if rng.uniform() < 0.75 else int(rng.uniform(150, 220))  # dark, or a light case
    veil = rng.uniform(0, 8)  # room light reflected by the glass
    pw, ph = sw + 2 * bezel, sh + 2 * bezel
    bg = _background(rng)
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    paths = [_smooth_path(rng, n, a * motion) for a in (30, 22, 6, 0.05, 0.10, 0.10)]
    scale0 = fill * min(W / pw, H / ph)
    lut = display_lut(rng)
    out = []
    for i, frame in enumerate(frames):
        device = np.full((ph, pw, 3), case, np.uint8)
        shown = _display(_fit(frame, sw, sh), lut, rng, grid=grid)
        device[bezel : bezel + sh, bezel : bezel + sw] = cv2.add(shown, np.full_like(shown, round(veil)))
        tx, ty, rot, sc, tilt_x, tilt_y = (p[i] for p in paths)
        s = scale0 * (1 + sc)
        c, si = np.cos(np.radians(rot)), np.sin(np.radians(rot))
        corners = []
        for x, y in src - np.float32([pw / 2, ph / 2]):
            depth = 1 + tilt_x * x / pw + tilt_y * y / ph
            u, v = s * x / depth, s * y / depth
            corners.append([W / 2 + tx + c * u - si * v, H / 2 + ty + si * u + c * v])
        hom = cv2.getPerspectiveTransform(src, np.float32(corners))
        warped = cv2.warpPerspective(device, hom, (W, H), flags=cv2.INTER_LINEAR)
        m = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), hom, (W, H)).astype(np.float32)[..., None] / 255
        out.append((warped * m + bg * (1 - m)).astype(np.uint8))
    return out


def replay(frames: Sequence[Image], times_ms: Sequence[float], seed: int, species: str, *, crf: int = 23) -> bytes:
    """One replay of a clip as ``species`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    cv2.setRNGSeed(seed)  # the sensor noise (cv2.randn) too: one seed, one video
    source = resample(frames, times_ms)
    if species == "screen_close":
        lut = display_lut(rng)
        shown = [_display(_fit(f, W, H), lut, rng, grid=False) for f in source]
        n = len(shown)
        paths = [_smooth_path(rng, n, a) for a in (8, 6, 1.5)]
        held = []
        for i, img in enumerate(shown):
            m = cv2.getRotationMatrix2D((W / 2, H / 2), paths[2][i], 1.12)  # no edge of the screen in view
            m[:, 2] += (paths[0][i], paths[1][i])
            held.append(cv2.warpAffine(img, m, (W, H), borderMode=cv2.BORDER_REFLECT))
    else:
        fill = rng.uniform(0.55, 0.9)  # screen size / distance
        held = _held_screen(source, rng, grid=species == "screen_grid", fill=fill, motion=rng.uniform(0.5, 1.2))
    if species == "screen_glare":
        glare_seed = int(rng.integers(1 << 30))
        held = [_glare(f, i, len(held), glare_seed) for i, f in enumerate(held)]
    if species == "screen_defocus":
        sigma = rng.uniform(1.5, 2.5)
        held = [cv2.GaussianBlur(f, (0, 0), sigma) for f in held]
    noise = rng.uniform(1.5, 4.0)
    return encode_video((_sensor(f, rng, noise) for f in held), fps=FPS, crf=crf)


REPLAYS: dict[str, Callable[[Sequence[Image], Sequence[float], int], bytes]] = {
    name: (lambda frames, times, seed, name=name: replay(frames, times, seed, name))  # type: ignore[misc]
    for name in ("screen_hd", "screen_grid", "screen_close", "screen_glare", "screen_defocus")
}
