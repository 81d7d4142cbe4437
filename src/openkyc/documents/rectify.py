"""Second looks at a photo whose MRZ was not read: the document rectified, or the photo enlarged.

A card held at an angle in a phone frame is small and seen in perspective; the line detector then
finds no MRZ, or the recogniser misreads its small, slanted characters. :func:`document_quad` finds
the document's outline (the largest convex four-sided contour covering at least 12 % of the photo),
and :func:`rectify` warps it to an upright page 1400 px wide. When no outline is found,
:func:`enlarge` gives the photo at a second scale (1.6x, up to 2000 px on the longer side). A dim
photo (its brightest pixels far from white, as in a room with little light) is first given its
contrast back by :func:`brighten`: PP-OCR's line detector misses most lines of a photo whose text and
paper differ by a few tens of grey levels.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

TARGET_WIDTH = 1400
MIN_AREA = 0.12
DIM_BELOW = 160
"""A photo whose 99.5th grey percentile is below this is dim (well-lit paper is 230 and up)."""


def _order(points: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Corners clockwise from top-left."""
    s = points.sum(axis=1)
    d = np.diff(points, axis=1).ravel()
    return np.asarray(
        [points[np.argmin(s)], points[np.argmin(d)], points[np.argmax(s)], points[np.argmax(d)]], np.float32
    )


def document_quad(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32] | None:
    """The four corners of the document in ``image`` (BGR), or None."""
    h, w = image.shape[:2]
    scale = 800 / max(h, w)
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    scale = min(scale, 1.0)
    grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    best: tuple[float, npt.NDArray[np.float32]] | None = None
    for low, high in ((30, 90), (60, 160)):
        edges = cv2.dilate(cv2.Canny(grey, low, high), np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
            hull = cv2.convexHull(contour)
            approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
            area = cv2.contourArea(approx)
            if len(approx) == 4 and area >= MIN_AREA * grey.size and (best is None or area > best[0]):
                best = (area, approx.reshape(4, 2).astype(np.float32))
    if best is None:
        return None
    quad = _order(best[1] / scale)
    if best[0] > 0.97 * grey.size:  # the whole frame: nothing to rectify
        return None
    return quad


def rectify(image: npt.NDArray[np.uint8], quad: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """The document inside ``quad`` warped upright, :data:`TARGET_WIDTH` wide."""
    top = float(np.linalg.norm(quad[1] - quad[0]))
    bottom = float(np.linalg.norm(quad[2] - quad[3]))
    left = float(np.linalg.norm(quad[3] - quad[0]))
    right = float(np.linalg.norm(quad[2] - quad[1]))
    aspect = max(left, right) / max(top, bottom, 1.0)
    width = TARGET_WIDTH
    height = max(64, round(width * aspect))
    target = np.asarray([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    out = cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.uint8)


def enlarge(image: npt.NDArray[np.uint8], factor: float = 1.6, max_side: int = 2000) -> npt.NDArray[np.uint8] | None:
    """``image`` at a second, larger scale; None when it is already that large."""
    h, w = image.shape[:2]
    factor = min(factor, max_side / max(h, w))
    if factor <= 1.05:
        return None
    return np.asarray(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def brighten(image: npt.NDArray[np.uint8], dim_below: int = DIM_BELOW) -> npt.NDArray[np.uint8] | None:
    """A dim ``image`` stretched linearly so its 1st-99.5th grey percentiles span 0-255; None when not dim."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    counts = np.cumsum(cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel()).astype(np.float64)
    cdf = counts / max(float(counts[-1]), 1.0)
    low, high = int(np.searchsorted(cdf, 0.01)), int(np.searchsorted(cdf, 0.995))
    if high >= dim_below or high - low < 8:
        return None
    lut = np.clip((np.arange(256, dtype=np.float32) - low) * 255.0 / (high - low), 0, 255).astype(np.uint8)
    return np.asarray(cv2.LUT(image, lut), dtype=np.uint8)
