"""The holder's portrait on a document: the largest face the detector finds, its box and crop.

The detector is any ``FaceDetector`` (``openkyc.biometrics.detection.YuNetDetector`` by default).
Faces inside the MRZ band (none in practice) and tiny ghost images are ignored; the crop is the
box grown by ``margin`` on each side, clipped to the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openkyc.biometrics.types import BoundingBox, FaceDetector


@dataclass(frozen=True)
class Portrait:
    """A face image is personal data: the repr shows only the box size."""

    box: BoundingBox
    score: float
    crop: npt.NDArray[np.uint8]

    def __repr__(self) -> str:
        return f"Portrait(score={self.score:.2f}, box=<{self.box.w:.0f}x{self.box.h:.0f}>)"


def find_portrait(
    image: npt.NDArray[np.uint8],
    detector: FaceDetector,
    *,
    min_share: float = 0.02,
    margin: float = 0.25,
) -> Portrait | None:
    """The largest face at least ``min_share`` of the image's shorter side tall, or None."""
    height, width = image.shape[:2]
    faces = [f for f in detector.detect(image) if f.box.h >= min_share * min(height, width)]
    if not faces:
        return None
    face = max(faces, key=lambda f: f.box.area)
    box = face.box
    x0 = max(0, int(box.x - margin * box.w))
    y0 = max(0, int(box.y - margin * box.h))
    x1 = min(width, int(box.x + box.w * (1 + margin)))
    y1 = min(height, int(box.y + box.h * (1 + margin)))
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    return Portrait(box=box, score=face.score, crop=crop)
