"""Value types of the face engine: boxes, keypoints, faces, quality, and the capability protocols.

Coordinates are pixels of the decoded (EXIF-rotated) image, origin top-left. Keypoint names follow
YuNet's order and are from the *subject's* point of view: ``right_eye`` is the subject's right eye,
which appears on the left of a non-mirrored photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
Image = npt.NDArray[np.uint8]
"""A decoded image: ``(height, width, 3)`` BGR ``uint8`` (OpenCV's layout)."""
Embedding = npt.NDArray[np.float32]
"""A unit-length float32 vector. Never stored, logged or returned by the HTTP API."""


@dataclass(frozen=True, slots=True)
class BoundingBox:
    x: float
    y: float
    w: float
    h: float

    def as_list(self) -> list[float]:
        return [round(self.x, 1), round(self.y, 1), round(self.w, 1), round(self.h, 1)]

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)


@dataclass(frozen=True, slots=True)
class Keypoints:
    right_eye: Point
    left_eye: Point
    nose: Point
    mouth_right: Point
    mouth_left: Point

    def as_list(self) -> list[Point]:
        return [self.right_eye, self.left_eye, self.nose, self.mouth_right, self.mouth_left]

    def as_dict(self) -> dict[str, list[float]]:
        names = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")
        return {n: [round(p[0], 1), round(p[1], 1)] for n, p in zip(names, self.as_list(), strict=True)}


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face. Facial keypoints are face features (DESIGN.md section 1)."""

    box: BoundingBox
    keypoints: Keypoints
    score: float

    def __repr__(self) -> str:  # keypoints are personal data: keep them out of logs
        return f"Face(score={self.score:.3f}, box=<{self.box.w:.0f}x{self.box.h:.0f}>)"

    def to_yunet_row(self) -> npt.NDArray[np.float32]:
        """The 15-value row OpenCV's ``FaceRecognizerSF.alignCrop`` expects."""
        values = [self.box.x, self.box.y, self.box.w, self.box.h]
        for px, py in self.keypoints.as_list():
            values.extend((px, py))
        values.append(self.score)
        return np.asarray(values, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Quality:
    """Measured quality of one face and the codes of the checks it failed (empty when fine)."""

    face_size: float  # shorter side of the box, pixels
    sharpness: float  # variance of the Laplacian of the face normalised to 112 px
    brightness: float  # mean grey level of the face region, 0-255
    yaw: float  # degrees, estimated from the 5 keypoints (positive: subject turned to their left)
    pitch: float  # degrees, positive: looking down
    roll: float  # degrees, in-plane rotation of the eye line
    inside_image: float  # fraction of the box inside the image, 0-1
    issues: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "issues": list(self.issues),
            "face_size": round(self.face_size, 1),
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "yaw": round(self.yaw, 1),
            "pitch": round(self.pitch, 1),
            "roll": round(self.roll, 1),
            "inside_image": round(self.inside_image, 3),
        }


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces and their 5 keypoints, best score first."""

    def detect(self, image: Image) -> list[Face]: ...


@runtime_checkable
class FaceEmbedder(Protocol):
    """Turns one detected face into a unit-length embedding."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, image: Image, face: Face) -> Embedding: ...
