"""Recapture cues for silent liveness: signs that the camera filmed a screen or a print, not a face.

Each cue is a number measured on the face track (see ``docs/liveness.md`` for what each one
measured on live clips and on each attack species):

- ``border``: the sides of a frame around the face that move with it. In 6 frames, long straight
  edges (at least one face height) beside the face are found (``frame_sides``: left, right, top,
  bottom); a side counts when it travels at least ``min_travel_px`` over the video while its
  distance to the face varies less than ``max_relative`` times that travel (a device held in a
  hand carries the face with it; a door frame before a still camera does not move, a body's edge
  or a graphic beside a moving presenter moves on its own). The cue is the mean number of such
  sides per frame (0-4). A screen that fills the view shows no side: this cue cannot see it;
- ``glare``: share of the face's surroundings that is a clipped, colourless highlight (a lamp
  reflected by the glass of a screen);
- ``black_level`` and ``contrast``: the 1st percentile and the 1st-99th percentile range of the
  grey levels around the face (a display adds its black level and the glass's reflected light,
  and compresses the range);
- ``blue_cast``: (blue - red) / grey over the inner face (displays are bluer than indoor light);
- ``hf_ratio``: share of the face crop's spectral energy above 0.3 cycles per pixel at the
  camera's resolution (a frame resampled for the screen, then by the camera, loses it);
- ``noise_ratio``: high-pass noise level of the face over that of the background far from it (the
  recorded face carries its own camera's noise, scaled, under the filming camera's);
- ``hf_floor``: log10 of the face crop's mean spectral power at 0.35-0.5 cycles/px over that at
  0.15-0.25 (a face enlarged on a screen and filmed again keeps only the filming camera's white
  noise above the resampling's cut-off: the spectrum stops falling; a noisy camera does the same);
- ``moire``: the strongest *isolated* spectral peak of the face crop at the camera's resolution:
  peak over the median of its own neighbourhood (a pixel grid beating with the sensor gives a
  narrow spike; faces, hair and compression blocks give broad energy along the axes), median over
  the frames. (A wider crop, 1.3 face boxes, with the upper quartile over frames and 4.8 was tried:
  it refused real people recorded by Chromium in the hosted-page tests and changed no held-out
  figure, so it was not kept.);
- ``flicker``: frame-to-frame brightness jitter shared by the whole region around the face (3 face
  boxes): a screen's refresh or backlight modulation beating with the camera's exposure changes
  the brightness of everything it shows at once, from one frame to the next; a lit room changes
  smoothly, and a talking face changes locally (``flicker_level``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import numpy.typing as npt

from openkyc.biometrics.types import Image
from openkyc.liveness.track import FaceTrack, TrackedFace

Grey = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class RecaptureConfig:
    min_travel_px: float = 3.0  # a frame side that moves less than this over the video is the room's
    max_relative: float = 0.7  # ... and one whose distance to the face varies more moves on its own
    frames: int = 6  # frames sampled for the appearance cues
    flicker_scale: float = 3.0  # the region (face boxes) whose brightness jitter is measured
    flicker_quantile: float = 60.0  # of the pairs: a screen flickers in most pairs, a lamp or a cut in a few


@dataclass(frozen=True)
class RecaptureEvidence:
    border: float
    glare: float
    black_level: float
    contrast: float
    blue_cast: float
    hf_ratio: float
    hf_floor: float
    noise_ratio: float
    moire: float
    flicker: float = 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def grey(image: Image) -> Grey:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def _box(t: TrackedFace, scale: float, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The face box scaled about its centre, clipped to the image: x0, y0, x1, y1."""
    b = t.face.box
    cx, cy = b.x + b.w / 2, b.y + b.h / 2
    hw, hh = scale * b.w / 2, scale * b.h / 2
    h, w = shape[:2]
    return max(0, int(cx - hw)), max(0, int(cy - hh)), min(w, int(cx + hw)), min(h, int(cy + hh))


def _inside(points: npt.NDArray[np.float32], box: tuple[int, int, int, int]) -> npt.NDArray[np.bool_]:
    x0, y0, x1, y1 = box
    return (points[:, 0] >= x0) & (points[:, 0] < x1) & (points[:, 1] >= y0) & (points[:, 1] < y1)


def frame_sides(g: Grey, face: TrackedFace) -> dict[str, float]:
    """Long straight edges beside the face: side (``L``, ``R``, ``T``, ``B``) -> position in px.

    Found at half resolution (Canny, probabilistic Hough) with a minimum length of one face height;
    a vertical edge counts as ``L`` or ``R`` when it lies 0.6-3 face widths from the face's centre
    and spans the face's height, a horizontal one as ``T`` or ``B`` likewise. The innermost edge
    of each side is kept (its position: x for ``L``/``R``, y for ``T``/``B``, full-resolution px).
    """
    small = np.asarray(cv2.resize(g, (g.shape[1] // 2, g.shape[0] // 2), interpolation=cv2.INTER_AREA), np.uint8)
    b = face.face.box
    cx, cy, fw, fh = (b.x + b.w / 2) / 2, (b.y + b.h / 2) / 2, b.w / 2, b.h / 2
    edges = cv2.Canny(small, 40, 120)
    lines = cv2.HoughLinesP(
        edges, 1, np.pi / 180, threshold=max(8, int(0.6 * fh)), minLineLength=max(8, int(fh)), maxLineGap=4
    )
    found: dict[str, float] = {}
    sh, sw = small.shape
    for x1, y1, x2, y2 in [] if lines is None else lines[:, 0].tolist():
        if min(x1, x2) < 3 or min(y1, y2) < 3 or max(x1, x2) > sw - 4 or max(y1, y2) > sh - 4:
            continue  # the picture's own edge or a letterbox bar
        angle = abs(float(np.degrees(np.arctan2(y2 - y1, x2 - x1)))) % 180
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        if abs(angle - 90) < 20 and min(y1, y2) < cy < max(y1, y2) + fh and 0.6 * fw < abs(mx - cx) < 3 * fw:
            side, pos, dist = ("L" if mx < cx else "R"), 2 * mx, abs(mx - cx)
        elif (
            (angle < 20 or angle > 160)
            and min(x1, x2) < cx + fw
            and max(x1, x2) > cx - fw
            and 0.6 * fh < abs(my - cy) < 3 * fh
        ):
            side, pos, dist = ("T" if my < cy else "B"), 2 * my, abs(my - cy)
        else:
            continue
        if side not in found or dist < abs(found[side] / 2 - (cx if side in "LR" else cy)):
            found[side] = pos
    return found


def border_sides(
    sides: list[dict[str, float]], centres: list[tuple[float, float]], min_travel_px: float, max_relative: float
) -> float:
    """Mean number of sides per frame (0-4) that frame the face and move with it, as a held device does.

    A side counts when its position travels at least ``min_travel_px`` over the frames (else it is
    part of the room: a door frame before a still camera) and its distance to the face's centre
    varies less than ``max_relative`` times that travel (else it moves on its own: a body's edge,
    an on-screen graphic next to a moving presenter).
    """
    moving = set()
    for side in "LRTB":
        seen = [i for i, f in enumerate(sides) if side in f]
        if len(seen) < 2:
            continue
        where = np.array([sides[i][side] for i in seen])
        offset = where - np.array([centres[i][0 if side in "LR" else 1] for i in seen])
        travel = float(where.max() - where.min())
        if travel >= min_travel_px and float(offset.max() - offset.min()) <= max_relative * travel:
            moving.add(side)
    return float(np.mean([len(moving & f.keys()) for f in sides])) if sides else 0.0


def _spectrum(crop: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    h, w = crop.shape
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    return np.asarray(np.abs(np.fft.fftshift(np.fft.fft2((crop - crop.mean()) * win))) ** 2, dtype=np.float64)


def _face_crop(g: Grey, t: TrackedFace, scale: float = 0.8) -> npt.NDArray[np.float32] | None:
    x0, y0, x1, y1 = _box(t, scale, g.shape)
    if x1 - x0 < 32 or y1 - y0 < 32:
        return None
    return np.asarray(g[y0:y1, x0:x1], dtype=np.float32)


def _radius(shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Spatial frequency (cycles/px) of each bin of a centred spectrum of ``shape``."""
    fy, fx = np.meshgrid(
        np.fft.fftshift(np.fft.fftfreq(shape[0])), np.fft.fftshift(np.fft.fftfreq(shape[1])), indexing="ij"
    )
    return np.asarray(np.hypot(fx, fy), dtype=np.float64)


def spectral_cues(g: Grey, t: TrackedFace) -> tuple[float, float] | None:
    """(``hf_ratio``, ``hf_floor``) of the face crop at the camera's resolution.

    ``hf_ratio``: share of the spectral energy above 0.05 cycles/px that lies above 0.3.
    ``hf_floor``: log10 of the mean power at 0.35-0.5 cycles/px over that at 0.15-0.25. A face's
    spectrum keeps falling up to the camera's Nyquist frequency; a face shown on a screen and
    filmed again, enlarged on the way (a screen held close to the lens, a small recording shown
    large), has lost its own fine detail: above the resampling's cut-off only the filming camera's
    white noise is left, so the top band stops falling and the ratio rises.
    """
    crop = _face_crop(g, t)
    if crop is None:
        return None
    spec = _spectrum(crop)
    r = _radius(spec.shape)
    total = float(spec[r > 0.05].sum())
    mid, top = float(spec[(r >= 0.15) & (r < 0.25)].mean()), float(spec[(r >= 0.35) & (r < 0.5)].mean())
    if total <= 0 or mid <= 0 or top <= 0:
        return None
    return float(spec[r > 0.3].sum() / total), float(np.log10(top / mid))


def hf_ratio(g: Grey, t: TrackedFace) -> float | None:
    """Share of the face crop's spectral energy (above 0.05 cycles/px) that lies above 0.3."""
    cues = spectral_cues(g, t)
    return None if cues is None else cues[0]


def moire_isolated(g: Grey, t: TrackedFace, scale: float = 0.8) -> float | None:
    """Strongest spectral peak above 0.12 cycles/px over the median of its own neighbourhood, in
    the face box enlarged ``scale`` times (the face and the screen around it: more periods of a
    pixel grid make its peak narrower and higher; a face's own texture does not repeat)."""
    crop = _face_crop(g, t, scale)
    if crop is None:
        return None
    crop = crop - np.asarray(cv2.GaussianBlur(crop, (0, 0), 2), dtype=np.float32)
    spec = _spectrum(crop)
    band = (_radius(spec.shape) > 0.12) & (np.arange(spec.shape[0]) >= spec.shape[0] // 2)[:, None]  # symmetric
    local = np.asarray(cv2.medianBlur(np.sqrt(spec).astype(np.float32), 5), dtype=np.float64) ** 2
    ratio = np.where(band, spec / (local + 1e-6), 0.0)
    return float(np.sqrt(ratio.max()))


def _noise(g: Grey, where: npt.NDArray[np.bool_] | None = None) -> float:
    """Robust sensor-noise level: median absolute Laplacian-of-Gaussian residual on flat pixels."""
    f = g.astype(np.float32)
    hp = f - np.asarray(cv2.GaussianBlur(f, (0, 0), 1.0), dtype=np.float32)
    grad = np.asarray(
        cv2.GaussianBlur(np.abs(cv2.Sobel(f, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(f, cv2.CV_32F, 0, 1)), (0, 0), 2)
    )
    flat = grad < np.percentile(grad if where is None else grad[where], 40)
    if where is not None:
        flat &= where
    return float(np.median(np.abs(hp[flat]))) if flat.any() else 0.0


def noise_ratio(g: Grey, t: TrackedFace) -> float | None:
    x0, y0, x1, y1 = _box(t, 0.7, g.shape)
    face = g[y0:y1, x0:x1]
    mask = np.ones(g.shape, bool)
    bx0, by0, bx1, by1 = _box(t, 2.2, g.shape)
    mask[by0:by1, bx0:bx1] = False
    if face.size < 400 or mask.sum() < 2000:
        return None
    b = _noise(g[::2, ::2], mask[::2, ::2])
    return _noise(face) / b if b > 0.05 else None


def appearance(image: Image, t: TrackedFace) -> dict[str, float | None]:
    """The per-frame appearance cues of one frame."""
    g = grey(image)
    x0, y0, x1, y1 = _box(t, 1.5, g.shape)
    around = g[y0:y1, x0:x1]
    hsv = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
    glare = float(((hsv[..., 2] >= 250) & (hsv[..., 1] <= 40)).mean()) if around.size else 0.0
    lo, hi = np.percentile(around, [1, 99]) if around.size else (0.0, 0.0)
    fx0, fy0, fx1, fy1 = _box(t, 0.6, g.shape)
    inner = image[fy0:fy1, fx0:fx1].reshape(-1, 3).astype(np.float32)
    cast = float((inner[:, 0].mean() - inner[:, 2].mean()) / (inner.mean() + 1.0)) if inner.size else 0.0
    spectral = spectral_cues(g, t)
    return {
        "glare": glare,
        "black_level": float(lo),
        "contrast": float(hi - lo) / 255.0,
        "blue_cast": cast,
        "hf_ratio": None if spectral is None else spectral[0],
        "hf_floor": None if spectral is None else spectral[1],
        "noise_ratio": noise_ratio(g, t),
        "moire": moire_isolated(g, t),
    }


def _quadrant_gains(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], lo: float = 40.0) -> list[float]:
    """Per quadrant of two 12x12 cell grids, the median log brightness ratio of the cells bright in both
    (a gain is multiplicative: dark cells carry none of it, and a codec leaves them unchanged); NaN
    for a quadrant with fewer than 4 such cells."""
    out = []
    for i in (0, 6):
        for j in (0, 6):
            qa, qb = a[i : i + 6, j : j + 6], b[i : i + 6, j : j + 6]
            keep = (qa >= lo) & (qb >= lo)
            out.append(float(np.median(np.log(qb[keep]) - np.log(qa[keep]))) if keep.sum() >= 4 else float("nan"))
    return out


def _agreed(change: npt.NDArray[np.float64]) -> float | None:
    """The smallest magnitude when every known quadrant changed the same way, else 0."""
    known = change[~np.isnan(change)]
    if len(known) < 2:
        return None
    return float(np.abs(known).min()) if bool(np.all(known > 0) or np.all(known < 0)) else 0.0


def flicker_level(track: FaceTrack, scale: float = 3.0, quantile: float = 60.0) -> float:
    """Brightness jitter (% of the level) shared by the four quadrants of the region around the face.

    For each pair of consecutive sampled frames, the region (``scale`` face boxes, each frame's own)
    is reduced to 12x12 cells and each quadrant's gain is the median log ratio of its bright cells;
    the *jitter* is the change of that gain from one pair to the next (a steady change of the light,
    a camera's exposure settling, gives the same gain pair after pair: no jitter). When every
    quadrant's jitter has the same sign the value is the smallest magnitude, else 0: a screen's
    flicker changes all of it at once, a face that talks or turns changes one part and not the
    others, and sensor noise does not agree in sign. The cue is the ``quantile`` (60th percentile)
    over the pairs: the level that 40 % of the pairs exceed. A screen flickers all the time; a
    cut, a looped clip or stage lights changing now and then move a few pairs only.
    """
    values: list[float] = []
    prev: tuple[int, npt.NDArray[np.float32]] | None = None
    last: tuple[int, npt.NDArray[np.float64]] | None = None
    for f in track.faces:
        image = track.image(f)
        x0, y0, x1, y1 = _box(f, scale, image.shape)
        if x1 - x0 < 12 or y1 - y0 < 12:
            prev = None
            continue
        cells = np.asarray(
            cv2.resize(grey(image[y0:y1, x0:x1]).astype(np.float32), (12, 12), interpolation=cv2.INTER_AREA),
            dtype=np.float32,
        )
        if prev is not None and prev[0] == f.frame - 1:
            gains = np.array(_quadrant_gains(prev[1], cells))
            if last is not None and last[0] == f.frame - 1 and (agreed := _agreed(gains - last[1])) is not None:
                values.append(agreed)
            last = (f.frame, gains)
        prev = (f.frame, cells)
    if not values:
        return 0.0
    return 100.0 * float(np.percentile(values, quantile))


def _median(values: list[float | None], default: float = 0.0) -> float:
    kept = [v for v in values if v is not None]
    return float(np.median(kept)) if kept else default


def _quartile(values: list[float | None]) -> float:
    """Upper quartile: a pixel grid beats with the sensor in some frames, not all (the hand moves it)."""
    kept = [v for v in values if v is not None]
    return float(np.percentile(kept, 75)) if kept else 0.0


def recapture_evidence(track: FaceTrack, config: RecaptureConfig | None = None) -> RecaptureEvidence:
    """Measure every recapture cue on ``track``."""
    cfg = config or RecaptureConfig()
    faces = track.faces
    picks = faces[:: max(1, len(faces) // cfg.frames)][: cfg.frames]
    rows = [appearance(track.image(f), f) for f in picks]
    sides = [frame_sides(grey(track.image(f)), f) for f in picks]
    centres = [(f.face.box.x + f.face.box.w / 2, f.face.box.y + f.face.box.h / 2) for f in picks]
    glare = [r["glare"] for r in rows]
    return RecaptureEvidence(
        border=border_sides(sides, centres, cfg.min_travel_px, cfg.max_relative),
        glare=_quartile(glare),
        black_level=_median([r["black_level"] for r in rows]),
        contrast=_median([r["contrast"] for r in rows]),
        blue_cast=_median([r["blue_cast"] for r in rows]),
        hf_ratio=_median([r["hf_ratio"] for r in rows]),
        hf_floor=_median([r["hf_floor"] for r in rows], -9.0),
        noise_ratio=_median([r["noise_ratio"] for r in rows], 1.0),
        moire=_median([r["moire"] for r in rows]),
        flicker=flicker_level(track, cfg.flicker_scale, cfg.flicker_quantile),
    )
