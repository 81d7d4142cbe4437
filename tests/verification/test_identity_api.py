"""Document OCR and identity verification over HTTP, with the real models on real and rendered data."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from attacks import read_frames

from documents.render import render_document

pytestmark = pytest.mark.slow


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def specimens(shared_data: Path) -> tuple[Path, dict[str, Any]]:
    folder = shared_data / "mrz-specimens"
    truth = json.loads((folder / "ground_truth.json").read_text())
    return folder, {entry["image"]: entry for entry in truth}


def test_ocr_reads_a_specimen_passport(tenant: Any, specimens: tuple[Path, dict[str, Any]]) -> None:
    folder, truth = specimens
    out = tenant.post("/v1/documents/ocr", {"image": b64((folder / "td3.jpg").read_bytes())})
    assert out.status_code == 200, out.text
    body = out.json()
    assert body["mrz"]["lines"] == truth["td3.jpg"]["mrz"]
    assert body["mrz"]["valid"] is True
    assert body["fields"]["document_number"] == "L898902C3"
    assert body["rule_type"] == "TD3" and body["portrait"] is not None
    assert body["unconfirmed_fields"] == body["mrz"]["unconfirmed_fields"] == []  # all under check digits


def test_ocr_rule_decides_accepted_types(tenant: Any, specimens: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = specimens
    rule_id = tenant.post("/v1/rules", {"name": "cards-only", "config": {"document_types": ["TD1"]}}).json()["rule_id"]
    out = tenant.post("/v1/documents/ocr", {"image": b64((folder / "td3.jpg").read_bytes()), "rule_id": rule_id}).json()
    assert out["Result"] == "FailedOperation.DocumentTypeNotAllowed"


def test_ocr_without_a_document_is_422(tenant: Any, shared_data: Path) -> None:
    blank = cv2.imencode(".jpg", np.full((400, 600, 3), 200, np.uint8))[1].tobytes()
    response = tenant.post("/v1/documents/ocr", {"image": b64(blank)})
    assert response.status_code == 422
    assert response.json()["Error"]["Code"] == "FailedOperation.DocumentNotFound"


def test_identity_verification_passes_for_the_holder_and_fails_for_someone_else(
    tenant: Any, shared_data: Path, specimens: tuple[Path, dict[str, Any]]
) -> None:
    clip_path = shared_data / "grid-talking-face-videos" / "lrwp9a.mpg"
    holder = read_frames(clip_path, limit=40)[35]
    document = render_document(np.random.default_rng(11), today=date(2026, 11, 29), kind="TD3", face=holder)
    clip = clip_path.read_bytes()

    passed = tenant.post(
        "/v1/verifications/identity",
        {"document_image": b64(document.jpeg), "video": b64(clip), "subject_id": "holder-1"},
    )
    assert passed.status_code == 200, passed.text
    body = passed.json()
    assert body["steps"]["document"]["code"] == "Success", body["steps"]["document"]
    assert body["steps"]["liveness"]["code"] == "Success"
    assert body["Result"] == "Success" and body["sim"] >= 70
    assert body["mrz"]["lines"] == document.lines and body["mrz"]["valid"] is True

    folder, _ = specimens
    other = tenant.post(
        "/v1/verifications/identity", {"document_image": b64((folder / "td3.jpg").read_bytes()), "video": b64(clip)}
    )
    # The specimen expired in 2012: the document step fails on its own; the face is someone else's.
    assert other.json()["Result"] == "FailedOperation.DocumentExpired"
    assert other.json()["steps"]["document"]["expired"] is True
    assert other.json()["steps"]["compare"]["code"] == "FailedOperation.CompareLowSimilarity"

    stored = tenant.get(f"/v1/verifications/{body['verification_id']}").json()
    assert stored["identification"]["document_number"] == document.fields["document_number"]
