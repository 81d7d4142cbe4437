"""Document photo warnings: each a stable code that a rule can list as failing.

| code | meaning |
|---|---|
| ``WarnBlurred`` | the document (or its MRZ) is out of focus |
| ``WarnGlare`` | a bright reflection hides part of the document (a saturated blob with a soft edge) |
| ``WarnTooDark`` | the photo is under-exposed |
| ``WarnIncomplete`` | the document is not wholly in the frame (text touches the border) |
| ``WarnScreenCapture`` | moiré: the document was photographed from a screen |
| ``WarnBlackWhiteCopy`` | no colour at all: a black-and-white photocopy or scan |
| ``WarnTamperingHint`` | the MRZ passes its check digits but the visual zone prints its document number, a name or the sex slightly differently (raised by the reader: :func:`openkyc.documents.viz.tampering_hint`) |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

WARN_BLURRED = "WarnBlurred"
WARN_GLARE = "WarnGlare"
WARN_TOO_DARK = "WarnTooDark"
WARN_INCOMPLETE = "WarnIncomplete"
WARN_SCREEN = "WarnScreenCapture"
WARN_BW_COPY = "WarnBlackWhiteCopy"
WARN_TAMPERING = "WarnTamperingHint"
ALL_WARNINGS = (WARN_BLURRED, WARN_GLARE, WARN_TOO_DARK, WARN_INCOMPLETE, WARN_SCREEN, WARN_BW_COPY)
"""The warnings measured on the photo's pixels (``WARN_TAMPERING`` is raised from what was read)."""

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class WarningThresholds:
    blur_sharpness: float = 60.0  # variance of the Laplacian at 800 px wide, below which: blurred
    glare_fraction: float = 0.005  # share of the photo under one soft-edged saturated blob
    dark_brightness: float = 55.0  # mean grey level
    border_margin: float = 0.005  # text boxes this close to the border (share of the side)
    moire_ratio: float = 11.0  # peak-to-median spectral energy in the mid band (weak: see docs)
    colour_saturation: float = 12.0  # 95th percentile of HSV saturation


@dataclass(frozen=True, slots=True)
class WarningVerdict:
    passed: bool
    failing: tuple[str, ...]


def document_warnings(
    image: npt.NDArray[np.uint8],
    *,
    text_boxes: Sequence[Box] = (),
    focus_box: Box | None = None,
    thresholds: WarningThresholds | None = None,
) -> list[str]:
    """The warning codes raised by ``image`` (BGR). ``focus_box``: where sharpness is measured (the MRZ)."""
    t = thresholds or WarningThresholds()
    grey = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    small = _resize(grey, 800)
    found = []
    if sharpness(grey, focus_box) < t.blur_sharpness:
        found.append(WARN_BLURRED)
    if glare_fraction(small) > t.glare_fraction:
        found.append(WARN_GLARE)
    if float(small.mean()) < t.dark_brightness:
        found.append(WARN_TOO_DARK)
    if touches_border(text_boxes, image.shape[1], image.shape[0], t.border_margin):
        found.append(WARN_INCOMPLETE)
    if moire_ratio(small) > t.moire_ratio:
        found.append(WARN_SCREEN)
    hsv = cv2.cvtColor(_resize(image, 800), cv2.COLOR_BGR2HSV)
    if float(np.percentile(hsv[:, :, 1], 95)) < t.colour_saturation:
        found.append(WARN_BW_COPY)
    return found


def apply_warning_rule(warnings: Iterable[str], fail_on: Iterable[str]) -> WarningVerdict:
    """Which of ``warnings`` a rule lists as failing (``fail_on``); passed when none."""
    blocked = set(fail_on)
    failing = tuple(w for w in warnings if w in blocked)
    return WarningVerdict(not failing, failing)


def _resize(image: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    scale = width / image.shape[1]
    size = (width, max(1, round(image.shape[0] * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def sharpness(grey: npt.NDArray[np.uint8], box: Box | None = None) -> float:
    """Variance of the Laplacian, the region scaled so that text lines have a comparable size."""
    region = grey
    if box is not None:
        x, y, w, h = (round(v) for v in box)
        crop = grey[max(0, y) : y + h, max(0, x) : x + w]
        region = crop if crop.size > 100 else grey
    region = _resize(region, 800)
    return float(cv2.Laplacian(region, cv2.CV_64F).var())


def glare_fraction(grey: npt.NDArray[np.uint8], max_fraction: float = 0.3) -> float:
    """Share of the image covered by the largest reflection: a near-white (>= 250) blob with a soft edge.

    A blob touching the border, or covering more than ``max_fraction`` of the photo, is a white
    background or page (scans), not a reflection. A reflection fades out: the ring just around it
    is bright (median >= 200) and brighter than the next ring out, where printed paper next to a
    white area shows a hard edge (ink or a brighter page right outside). 0 when no blob qualifies.
    """
    mask = (grey >= 250).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h, w = grey.shape
    radius = max(3, round(0.012 * float(np.hypot(h, w))))
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    order = sorted(range(1, count), key=lambda k: -int(stats[k][4]))
    for k in order[:3]:
        x, y, bw, bh, area = (int(v) for v in stats[k])
        if area / grey.size > max_fraction or not (x > 0 and y > 0 and x + bw < w and y + bh < h):
            continue
        blob = (labels == k).astype(np.uint8)
        near = cv2.dilate(blob, kernel)
        far = cv2.dilate(near, kernel)
        ring1 = grey[(near > 0) & (blob == 0)]
        ring2 = grey[(far > 0) & (near == 0)]
        if ring1.size and ring2.size and float(np.median(ring1)) >= 200 and np.median(ring1) > np.median(ring2):
            return area / grey.size
    return 0.0


def touches_border(boxes: Sequence[Box], width: int, height: int, margin: float) -> bool:
    mx, my = margin * width, margin * height
    return any(x <= mx or y <= my or x + w >= width - mx or y + h >= height - my for x, y, w, h in boxes)


def moire_ratio(grey: npt.NDArray[np.uint8]) -> float:
    """Strongest isolated peak of the mid/high-frequency spectrum against its median energy."""
    g = grey.astype(np.float32)
    g -= float(g.mean())
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(g * np.outer(np.hanning(g.shape[0]), np.hanning(g.shape[1])))))
    h, w = spectrum.shape
    yy, xx = np.ogrid[:h, :w]
    radius = np.hypot((yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2))
    band = spectrum[(radius > 0.25) & (radius < 0.9)]
    if band.size == 0:
        return 0.0
    return float(np.percentile(band, 99.99) / (np.median(band) + 1e-6)) / 10.0
