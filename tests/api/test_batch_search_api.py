"""Several images in one search request: one scan, each result the same as its one-image search."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def test_batch_search_answers_as_single_searches(tenant: Any, shared_data: Path) -> None:
    ids = shared_data / "facerec-examples" / "identities"
    enrolled = {"u-obama": ids / "obama" / "obama.jpg", "u-biden": ids / "biden" / "biden.jpg"}
    queries = [ids / "obama" / "obama2.jpg", ids / "biden" / "biden2.jpg", ids / "rose_leslie" / "img1.jpg"]
    col = tenant.post("/v1/collections", {"name": "batch"}).json()["collection_id"]
    for subject, photo in enrolled.items():
        answer = tenant.post(f"/v1/collections/{col}/subjects", {"subject_id": subject, "image": _b64(photo)})
        assert answer.status_code == 200, answer.text
    url = f"/v1/collections/{col}/search"
    singles = [tenant.post(url, {"image": _b64(q), "top_k": 2}).json() for q in queries]
    batch = tenant.post(url, {"images": [_b64(q) for q in queries], "top_k": 2})
    assert batch.status_code == 200, batch.text
    body = batch.json()
    assert body["threshold"] == singles[0]["threshold"]
    assert [r["matches"] for r in body["results"]] == [s["matches"] for s in singles]
    assert body["results"][0]["matches"][0]["subject_id"] == "u-obama" and body["results"][0]["matches"][0]["match"]
    assert body["results"][1]["matches"][0]["subject_id"] == "u-biden"
    assert not any(m["match"] for m in body["results"][2]["matches"])  # a stranger matches no one


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, "InvalidParameter.ImageOrImages"),
        ({"image": "aGk=", "images": ["aGk="]}, "InvalidParameter.ImageOrImages"),
        ({"images": []}, "InvalidParameter"),
        ({"images": ["aGk="] * 17}, "InvalidParameter"),
    ],
)
def test_batch_search_bad_requests(tenant: Any, payload: dict[str, Any], code: str) -> None:
    col = tenant.post("/v1/collections", {"name": "bad"}).json()["collection_id"]
    answer = tenant.post(f"/v1/collections/{col}/search", payload)
    assert answer.status_code == 400, answer.text
    assert answer.json()["Error"]["Code"].startswith(code)
