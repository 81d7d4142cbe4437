"""Consent over HTTP and the model-improvement dataset: refused without consent, removed on withdrawal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from wiring_helpers import audit_events, b64, png_bytes

from openkyc.store.models.media import Blob
from openkyc.store.models.privacy import Consent, ModelImprovementItem


def _counts(runtime: Any) -> tuple[int, int]:
    with runtime.transaction() as session:
        items = session.scalar(select(func.count()).select_from(ModelImprovementItem)) or 0
        blobs = session.scalar(select(func.count()).select_from(Blob)) or 0
    return int(items), int(blobs)


def test_sample_without_consent_is_refused_and_audited(tenant: Any, runtime: Any) -> None:
    out = tenant.post("/v1/improvement/samples", {"subject_id": "s-1", "image": b64(png_bytes()), "dataset": "eval"})
    assert out.status_code == 403, out.text
    assert out.json()["Error"]["Code"] == "UnauthorizedOperation.ConsentRequired"
    refusals = audit_events(runtime, "gate_refusal")
    assert len(refusals) == 1
    assert refusals[0].details["purpose"] == "model_improvement"
    assert refusals[0].details["elements"] == ["identification.face_image"]
    assert refusals[0].app_id == tenant.app_id and "s-1" not in str(refusals[0].details)
    assert _counts(runtime) == (0, 0)


def test_consent_then_sample_then_withdraw_deletes_it(tenant: Any, runtime: Any) -> None:
    granted = tenant.post(
        "/v1/privacy/consents", {"subject_id": "s-2", "purpose": "model_improvement", "text_version": "v3"}
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["purpose"] == "model_improvement" and granted.json()["text_version"] == "v3"

    added = tenant.post("/v1/improvement/samples", {"subject_id": "s-2", "image": b64(png_bytes()), "dataset": "eval"})
    assert added.status_code == 200, added.text
    assert added.json()["dataset"] == "eval"
    assert _counts(runtime) == (1, 1)
    blob_files = list(runtime.settings.blob_dir.glob("*/bl-*"))
    assert len(blob_files) == 1 and png_bytes() not in blob_files[0].read_bytes()  # sealed at rest

    withdrawn = tenant.post("/v1/privacy/consents/withdraw", {"subject_id": "s-2", "purpose": "model_improvement"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json() | {"RequestId": None} == {
        "subject_id": "s-2",
        "purpose": "model_improvement",
        "consents_withdrawn": 1,
        "items_removed": 1,
        "blobs_deleted": 1,
        "RequestId": None,
    }
    assert _counts(runtime) == (0, 0)
    assert list(runtime.settings.blob_dir.glob("*/bl-*")) == []

    again = tenant.post("/v1/improvement/samples", {"subject_id": "s-2", "image": b64(png_bytes()), "dataset": "eval"})
    assert again.status_code == 403 and again.json()["Error"]["Code"] == "UnauthorizedOperation.ConsentRequired"
    consent_events = [r.details["action"] for r in audit_events(runtime, "consent")]
    assert consent_events == ["grant", "withdraw"]
    with runtime.transaction() as session:
        row = session.scalars(select(Consent)).one()
    assert row.withdrawn_at is not None  # history is kept


def test_consent_is_per_app(make_tenant: Any, runtime: Any) -> None:
    first, second = make_tenant("first"), make_tenant("second")
    assert first.post("/v1/privacy/consents", {"subject_id": "s-3", "text_version": "v1"}).status_code == 200
    out = second.post("/v1/improvement/samples", {"subject_id": "s-3", "image": b64(png_bytes())})
    assert out.status_code == 403 and out.json()["Error"]["Code"] == "UnauthorizedOperation.ConsentRequired"


def test_bad_consent_and_sample_input(tenant: Any) -> None:
    bad_purpose = tenant.post(
        "/v1/privacy/consents", {"subject_id": "s-4", "purpose": "marketing", "text_version": "v1"}
    )
    assert bad_purpose.status_code == 400 and bad_purpose.json()["Error"]["Code"] == "InvalidParameterValue.Purpose"
    assert tenant.post("/v1/privacy/consents", {"subject_id": "s-4", "text_version": "v1"}).status_code == 200
    not_image = tenant.post("/v1/improvement/samples", {"subject_id": "s-4", "image": b64(b"not an image at all")})
    assert not_image.status_code == 400
    assert not_image.json()["Error"]["Code"] == "InvalidParameterValue.ImageDecodeFailed"
    bad_dataset = tenant.post(
        "/v1/improvement/samples", {"subject_id": "s-4", "image": b64(png_bytes()), "dataset": "no/slashes"}
    )
    assert bad_dataset.status_code == 400 and bad_dataset.json()["Error"]["Code"] == "InvalidParameterValue.Dataset"
