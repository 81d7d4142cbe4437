"""A request that finds every model instance busy and the queue full is answered 503 at once."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from openkyc.pool import ModelPool


@pytest.fixture
def one_model_no_queue(runtime: Any) -> ModelPool[Any]:
    pool: ModelPool[Any] = ModelPool(object, size=1, queue_size=0, timeout_s=5.0)
    runtime.components["models"] = pool
    return pool


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/v1/faces/detect", {"image": "IMAGE"}),
        ("/v1/faces/compare", {"image_a": "IMAGE", "image_b": "IMAGE"}),
        ("/v1/documents/ocr", {"image": "IMAGE"}),
        ("/v1/liveness", {"video": "IMAGE"}),
    ],
)
def test_busy_models_answer_503_with_retry_after(
    tenant: Any, one_model_no_queue: ModelPool[Any], path: str, payload: dict[str, str]
) -> None:
    image = base64.b64encode(b"\x89PNG not really").decode()
    body = {k: image if v == "IMAGE" else v for k, v in payload.items()}
    with one_model_no_queue.lease():  # another request holds the only instance
        started = time.monotonic()
        response = tenant.post(path, body)
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json()["Error"]["Code"] == "ResourceUnavailable.ServerBusy"
    assert int(response.headers["Retry-After"]) >= 1
    assert elapsed < 2.0  # refused at once, not after the queue timeout
    assert one_model_no_queue.stats().refused == 1
