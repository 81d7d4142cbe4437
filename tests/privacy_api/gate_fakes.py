"""Fast stand-ins for the models (for the route-walk gate test): real engine code, fake networks.

The face engine is the real :class:`FaceEngine` (decoding, protection, calibration) over a fake
detector (one face filling the image) and a fake embedder (a unit vector seeded by the pixels);
liveness always passes with the video's first "frame" a real PNG; the document reader returns
fixed identification fields. Enough for every route to run its whole flow and store its results.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import cv2
import numpy as np

from openkyc.biometrics.calibration import Calibration
from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.types import BoundingBox, Face, Keypoints
from openkyc.documents.reader import DocumentResult
from openkyc.liveness.checker import LivenessResult
from openkyc.pool import ModelPool


def png(seed: int = 1, side: int = 200) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(60, 200, size=(side, side, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".png", pixels)
    assert ok
    return bytes(encoded.tobytes())


class FakeDetector:
    def detect(self, image: Any) -> list[Face]:
        h, w = image.shape[:2]
        box = BoundingBox(w * 0.2, h * 0.2, w * 0.6, h * 0.6)
        cx, cy = w / 2, h / 2
        points = Keypoints((cx - 20, cy - 15), (cx + 20, cy - 15), (cx, cy), (cx - 15, cy + 20), (cx + 15, cy + 20))
        return [Face(box, points, 0.99)]


class FakeEmbedder:
    name = "sface"
    dim = 128

    def embed(self, image: Any, face: Face) -> Any:
        seed = int.from_bytes(hashlib.sha256(image.tobytes()).digest()[:8], "big")
        vector = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return vector / np.linalg.norm(vector)


class FakeLiveness:
    def check(self, video: bytes, **_: Any) -> LivenessResult:
        return LivenessResult(live=True, score=0.97, code="Success", mode=str(_.get("mode")), best_frame=png(1))


class FakeReader:
    def read_bytes(self, image: bytes, *, today: date) -> DocumentResult:
        return DocumentResult(
            code="Success",
            document_type="TD3",
            fields={"name": "ERIKSSON ANNA", "document_number": "L898902C3", "date_of_birth": "1974-08-12"},
        )


class FakeModels:
    """What a pooled ``ModelSet`` offers: face engines, liveness, the document reader."""

    def __init__(self) -> None:
        self.engine = FaceEngine(
            FakeDetector(), FakeEmbedder(), Calibration.packaged("sface"), name="sface", enforce_quality=False
        )
        self.liveness = FakeLiveness()
        self.documents = FakeReader()

    def face_engine(self, name: str = "sface") -> FaceEngine:
        return self.engine

    @property
    def faces(self) -> FaceEngine:
        return self.engine


def fake_pool() -> ModelPool[FakeModels]:
    return ModelPool(FakeModels, size=2, queue_size=8, timeout_s=10.0)
