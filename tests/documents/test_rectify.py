"""Second looks (openkyc.documents.rectify): a dim photo brightened before it is read again."""

from __future__ import annotations

from datetime import date
from typing import Any

import cv2
import numpy as np
import pytest
from render import render_document

from openkyc.documents.rectify import DIM_BELOW, brighten

TODAY = date(2026, 6, 1)


def dim(image: np.ndarray, rng: np.random.Generator, light: float = 0.24, noise: float = 14.0) -> np.ndarray:
    """``image`` on a table in a dim room: little, uneven light, sensor noise, JPEG."""
    h, w = image.shape[:2]
    height, width = int(h * 1.6), int(w * 1.6)
    canvas = np.full((height, width, 3), 110, np.float32) + rng.normal(0, 6, (height, width, 3))
    y, x = (height - h) // 2, (width - w) // 3
    canvas[y : y + h, x : x + w] = image
    ramp = 1.0 + 0.3 * (np.arange(width, dtype=np.float32)[None, :] / width - 0.5)
    out = cv2.GaussianBlur(canvas * light * ramp[..., None], (0, 0), 0.8) + rng.normal(0, noise, canvas.shape)
    ok, jpeg = cv2.imencode(".jpg", np.clip(out, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), dtype=np.uint8)


def test_brighten_stretches_a_dim_photo() -> None:
    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(40, 10, (120, 160, 3)), 0, 255).astype(np.uint8)
    image[40:60, 20:140] = 15  # dark text on dim paper
    image[10:20, 10:30] = 90  # the brightest paper
    out = brighten(image)
    assert out is not None and out.shape == image.shape and out.dtype == np.uint8
    grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    assert np.percentile(grey, 99.5) >= 250 and np.percentile(grey, 1) <= 5
    # the order of grey levels is kept (a linear stretch): text stays darker than paper
    assert grey[40:60, 20:140].mean() < grey[10:20, 10:30].mean()


@pytest.mark.parametrize("level", [DIM_BELOW + 5, 230, 255])
def test_brighten_leaves_a_lit_photo_alone(level: int) -> None:
    image = np.full((80, 80, 3), level, np.uint8)
    image[20:40, 10:70] = 20
    assert brighten(image) is None


def test_brighten_leaves_a_flat_photo_alone() -> None:
    assert brighten(np.full((80, 80, 3), 30, np.uint8)) is None  # nothing to stretch


@pytest.mark.slow
def test_dim_noisy_photos_read_exactly_once_brightened(reader: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Passports in a dim room: the MRZ is not even found as photographed, and read exactly once brightened."""
    import openkyc.documents.reader as reader_module

    rng = np.random.default_rng(31)
    for k in range(2):
        doc = render_document(rng, today=TODAY, kind="TD3")
        image = dim(doc.image, rng)
        assert brighten(image) is not None
        result = reader.read(image, today=TODAY)
        assert result.mrz is not None and list(result.mrz.lines) == doc.lines
        assert result.code in ("Success", "FailedOperation.MrzNotVerified")  # never a wrong reading
        if k == 0:
            with monkeypatch.context() as patch:
                patch.setattr(reader_module, "brighten", lambda image: None)
                unbrightened = reader.read(image, today=TODAY)
            assert unbrightened.mrz is None or list(unbrightened.mrz.lines) != doc.lines
