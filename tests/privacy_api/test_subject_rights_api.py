"""Subject access and erasure over HTTP, with the real face models on real photos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shredding_helpers import sqlite_files
from sqlalchemy import func, select
from wiring_helpers import audit_events, b64, png_bytes

from openkyc.compliance.subjects import get_receipt, subject_reference
from openkyc.privacy.service import subject_salt
from openkyc.store.models.faces import Subject
from openkyc.store.models.media import Blob

pytestmark = pytest.mark.slow

IDENT = {"name": "Quentin Marlowe-Ashby", "id_number": "X9922771", "date_of_birth": "1979-04-23"}


def _enrol(tenant: Any, photo: Path, subject_id: str, collection: str = "people") -> str:
    collection_id = tenant.post("/v1/collections", {"name": collection}).json()["collection_id"]
    out = tenant.post(
        f"/v1/collections/{collection_id}/subjects",
        {"subject_id": subject_id, "image": b64(photo.read_bytes()), "identification": IDENT, "retain_image": True},
    )
    assert out.status_code == 200, out.text
    return str(collection_id)


def test_export_lists_everything_with_categories_and_purposes(
    tenant: Any, runtime: Any, photos: dict[str, Path]
) -> None:
    _enrol(tenant, photos["obama"], "subj-1")
    assert tenant.post("/v1/privacy/consents", {"subject_id": "subj-1", "text_version": "v2"}).status_code == 200
    assert (
        tenant.post("/v1/improvement/samples", {"subject_id": "subj-1", "image": b64(png_bytes())}).status_code == 200
    )

    out = tenant.get("/v1/privacy/subjects/subj-1")
    assert out.status_code == 200, out.text
    body = out.json()
    by_element = {}
    for item in body["items"]:
        by_element.setdefault(item["element"], []).append(item)
    assert by_element["identification.name"][0]["value"]["name"] == IDENT["name"]
    assert by_element["identification.id_number"][0]["value"]["id_number"] == IDENT["id_number"]
    assert by_element["identification.name"][0]["category"] == "identification"
    assert by_element["face_features.template"][0]["purposes"] == ["provide_features", "troubleshooting"]
    images = [i for i in by_element["identification.face_image"] if i["table"] == "blobs"]
    assert sorted(i["kind"] for i in images) == ["face_image", "model_improvement_item"]
    assert [i["purposes"] for i in images if i["kind"] == "model_improvement_item"] == [["model_improvement"]]
    assert body["consents"][0]["purpose"] == "model_improvement" and body["consents"][0]["withdrawn_at"] is None
    exports = audit_events(runtime, "export")
    assert len(exports) == 1 and IDENT["name"] not in str(exports[0].details)

    other = tenant.get("/v1/privacy/subjects/nobody")
    assert other.status_code == 200 and other.json()["items"] == [] and other.json()["consents"] == []


def test_erase_removes_everything_and_leaves_a_receipt(
    make_tenant: Any, runtime: Any, settings: Any, photos: dict[str, Path]
) -> None:
    tenant, neighbour = make_tenant("a"), make_tenant("b")
    collection_id = _enrol(tenant, photos["obama"], "subj-2")
    _enrol(tenant, photos["obama2"], "subj-2", collection="second")
    _enrol(tenant, photos["biden"], "keep-me", collection="third")
    _enrol(neighbour, photos["obama"], "subj-2")  # same id in another app is another subject
    assert tenant.post("/v1/privacy/consents", {"subject_id": "subj-2", "text_version": "v1"}).status_code == 200
    assert (
        tenant.post("/v1/improvement/samples", {"subject_id": "subj-2", "image": b64(png_bytes())}).status_code == 200
    )
    found = tenant.post(f"/v1/collections/{collection_id}/search", {"image": b64(photos["obama2"].read_bytes())})
    assert found.json()["matches"][0]["subject_id"] == "subj-2"
    assert tenant.get("/v1/privacy/subjects/subj-2").json()["items"] != []
    if runtime.engine.dialect.name == "sqlite":  # enrol, consent, search, export: the id is never stored
        runtime.engine.dispose()
        assert b"subj-2" not in sqlite_files(settings.data_dir)

    out = tenant.post("/v1/privacy/subjects/subj-2/erase")
    assert out.status_code == 200, out.text
    receipt = out.json()
    assert receipt["items"] == {
        "answer_keys_destroyed": 0,  # the stored answer's own record key: its copies stop opening
        "blobs": 3,
        "call_records_pseudonymised": 0,
        "consents": 1,
        "hosted_sessions": 0,
        "index_entries": 2,
        "model_improvement_items": 1,
        "session_keys_destroyed": 0,
        "stored_answers": 0,
        "subject_keys_destroyed": 1,
        "subjects": 2,
        "verification_results": 0,
    }
    assert "subj-2" not in out.text and IDENT["name"] not in out.text
    assert receipt["subject_ref"] == subject_reference(subject_salt(runtime.keyring), tenant.app_id, "subj-2")
    with runtime.transaction() as session:
        stored = get_receipt(session, receipt["receipt_id"])
        assert stored is not None and stored.items == receipt["items"]
        assert session.scalar(select(func.count()).select_from(Subject).where(Subject.app_id == tenant.app_id)) == 1
        for app_id, kept in ((tenant.app_id, 0), (neighbour.app_id, 1)):
            ref = runtime.subject_keys.subject_ref(app_id, "subj-2")
            assert session.scalar(select(func.count()).select_from(Blob).where(Blob.subject_id == ref)) == kept
    erasures = audit_events(runtime, "erasure")
    assert erasures[0].details["receipt_id"] == receipt["receipt_id"]

    assert tenant.get("/v1/privacy/subjects/subj-2").json()["items"] == []
    after = tenant.post(f"/v1/collections/{collection_id}/search", {"image": b64(photos["obama2"].read_bytes())})
    assert after.status_code == 200 and all(m["subject_id"] != "subj-2" for m in after.json()["matches"])
    assert neighbour.get("/v1/privacy/subjects/subj-2").json()["items"] != []  # untouched
    again = tenant.post("/v1/privacy/subjects/subj-2/erase").json()
    assert sum(again["items"].values()) == 0 and again["subject_ref"] == receipt["subject_ref"]
