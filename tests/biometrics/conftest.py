from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from openkyc.biometrics.engine import FaceEngine


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine.default()


def encode(array_rgb: np.ndarray, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array_rgb).save(buf, format=fmt, **kw)
    return buf.getvalue()
