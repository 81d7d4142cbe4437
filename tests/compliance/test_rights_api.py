"""Subject access (JSON and ZIP) and erasure over HTTP, reaching every store (no models needed)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from seeding import END_USER_IP, IDENT, MRZ_FIELDS, SERVER_IP, seed_person
from sqlalchemy import func, select, text

from openkyc.compliance.registry import REGISTRY, steps
from openkyc.privacy.vocabulary import DataCategory, Purpose
from openkyc.store.models.diagnostics import CallRecord
from openkyc.store.models.media import Blob
from openkyc.store.models.privacy import AuditRecord

STAFF_TABLES = {"users", "audit_log"}


def _held_columns(runtime: Any, app_id: int) -> set[tuple[str, str]]:
    """From the schema side: every covered personal-data column that holds a value in this app.

    The seeded app holds exactly one person, so each such column must show up in the export.
    """
    steps()
    held = set()
    with runtime.transaction() as session:
        for table, columns in REGISTRY.covered().items():
            if table in STAFF_TABLES:
                continue
            for column in columns:
                found = session.execute(
                    text(f'SELECT 1 FROM "{table}" WHERE app_id = :app AND "{column}" IS NOT NULL LIMIT 1'),
                    {"app": app_id},
                ).first()
                if found is not None:
                    held.add((table, column))
    return held


def test_export_holds_every_stored_element_decrypted_with_purpose_basis_and_expiry(
    make_tenant: Any, runtime: Any
) -> None:
    tenant, neighbour = make_tenant("a"), make_tenant("b")
    seeded = seed_person(runtime, tenant.app_id, "subj-1")
    seed_person(runtime, neighbour.app_id, "subj-1")  # same id in another app: another person

    out = tenant.get(f"/v1/privacy/subjects/subj-1?biz_token={seeded.biz_token}")
    assert out.status_code == 200, out.text
    body = out.json()
    items = body["items"]

    exported = {(i["table"], i["column"]) for i in items}
    held = _held_columns(runtime, tenant.app_id)
    assert len(held) > 20
    assert held - exported == set(), "stored personal data missing from the export"

    # every policy element of the end user's categories that is stored is in the export
    end_user_categories = {
        DataCategory(c) for c, spec in runtime.gate.policy.categories.items() if "end_user" in spec.data_subjects
    }
    stored_elements = {
        use.element.value
        for table, columns in REGISTRY.covered().items()
        if table not in STAFF_TABLES
        for use in columns.values()
        if use.element is not None and use.category in end_user_categories
    }
    assert stored_elements - {i["element"] for i in items} == set()

    fields = {i["field"]: i["value"][i["field"]] for i in items if i["field"]}
    for name, value in {**IDENT, **MRZ_FIELDS}.items():
        assert fields[name] == value, name  # decrypted, all ten document fields included
    by_column = {(i["table"], i["column"]): i for i in items}
    assert by_column[("verification_sessions", "extra_enc")]["value"]["extra"] == "customer-ref-77"
    details = [i for i in items if i["column"] == "details"]
    assert any(d["value"]["details"]["liveness"]["evidence"] == {"blink": 2} for d in details)
    addresses = {i["value"]["client_ip"] for i in items if i["column"] == "client_ip"}
    assert addresses == {END_USER_IP, SERVER_IP}  # not the other visitor of the hosted page
    for item in items:
        assert item["source"], item
        assert item["created_at"] is not None or item["column"] == "subject_id", item
        if item["purposes"]:
            assert item["legal_basis"], item
        if item["retention"]:
            assert item["expires_at"] is not None, item
    template = by_column[("subjects", "template")]
    assert template["purposes"] == ["provide_features", "troubleshooting"]
    sample = [i for i in items if i["kind"] == "model_improvement_item" and i["table"] == "blobs"]
    assert sample[0]["purposes"] == ["model_improvement"]
    assert "explicit_consent" in sample[0]["legal_basis"]
    assert body["consents"][0]["purpose"] == "model_improvement" and body["consents"][0]["text_version"] == "v3"
    assert len(body["files"]) == 3  # enrolment image, hosted reference photo, consented sample

    exports = [r for r in _audit(runtime) if r.event_type == "export"]
    assert len(exports) == 1 and IDENT["name"] not in json.dumps(exports[0].details)
    assert exports[0].details["basis"] == "legal_obligation"


def test_zip_download_has_manifest_media_files_and_summary(tenant: Any, runtime: Any) -> None:
    seeded = seed_person(runtime, tenant.app_id, "subj-z")
    for path in (
        f"/v1/privacy/subjects/subj-z/export.zip?biz_token={seeded.biz_token}",
        f"/v1/privacy/subjects/subj-z?format=zip&biz_token={seeded.biz_token}",
    ):
        out = tenant.get(path)
        assert out.status_code == 200, out.text
        assert out.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(out.content))
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        assert {f["name"] for f in manifest["files"]} <= names and len(manifest["files"]) == 3
        with runtime.transaction() as session:
            for blob_id in seeded.blob_ids:
                expected = runtime.blobs.get(
                    session, tenant.app_id, blob_id, now=runtime.clock(), purpose=Purpose.PROVIDE_FEATURES
                )
                assert archive.read(f"media/{blob_id}.png") == expected  # decrypted, byte for byte
        summary = archive.read("summary.html").decode()
        assert "ERIKSSON" in summary and "Legal basis" in summary and "media/" in summary
        assert len(manifest["items"]) == len(
            tenant.get(f"/v1/privacy/subjects/subj-z?biz_token={seeded.biz_token}").json()["items"]
        )


def test_erasure_reaches_every_store_and_keeps_the_neighbour(make_tenant: Any, runtime: Any) -> None:
    tenant, neighbour = make_tenant("a"), make_tenant("b")
    seeded = seed_person(runtime, tenant.app_id, "subj-2")
    seed_person(runtime, neighbour.app_id, "subj-2")
    before = tenant.get(f"/v1/privacy/subjects/subj-2?biz_token={seeded.biz_token}").json()["items"]

    out = tenant.post("/v1/privacy/subjects/subj-2/erase", {"biz_tokens": [seeded.biz_token]})
    assert out.status_code == 200, out.text
    receipt = out.json()
    assert receipt["items"] == {
        "answer_keys_destroyed": 1,  # the stored answer's own record key: its copies stop opening
        "blobs": 3,
        "call_records_pseudonymised": 3,
        "consents": 1,
        "hosted_sessions": 1,
        "index_entries": 1,
        "model_improvement_items": 1,
        "session_keys_destroyed": 0,  # seeded under the shared keys (served flow: tests/server)
        "stored_answers": 1,
        "subject_keys_destroyed": 1,
        "subjects": 1,
        "verification_results": 2,
    }
    assert "subj-2" not in out.text and seeded.biz_token not in out.text
    after = tenant.get(f"/v1/privacy/subjects/subj-2?biz_token={seeded.biz_token}").json()
    assert after["items"] == [] and before
    assert _held_columns(runtime, tenant.app_id) == {("call_records", "client_ip")}  # other callers only
    with runtime.transaction() as session:
        seeded_calls = (CallRecord.app_id == tenant.app_id, CallRecord.action == "Test")
        ips = list(session.scalars(select(CallRecord.client_ip).where(*seeded_calls)))
        assert sorted(ips, key=lambda ip: ip or "") == [
            None,
            None,
            None,
            "192.0.2.99",
        ]  # the records stay, addresses gone
        assert session.scalar(select(func.count()).select_from(Blob).where(Blob.app_id == tenant.app_id)) == 0
    for blob_id in seeded.blob_ids:
        assert not runtime.blobs._path(blob_id).exists()
    assert len(neighbour.get("/v1/privacy/subjects/subj-2").json()["items"]) > 10  # untouched
    erasures = [r for r in _audit(runtime) if r.event_type == "erasure"]
    assert erasures[-1].details["receipt_id"] == receipt["receipt_id"]


def test_a_hosted_session_alone_by_biz_token(tenant: Any, runtime: Any) -> None:
    seeded = seed_person(runtime, tenant.app_id, "subj-3")
    out = tenant.get(f"/v1/privacy/sessions/{seeded.biz_token}")
    assert out.status_code == 200, out.text
    tables = {i["table"] for i in out.json()["items"]}
    assert tables == {"verification_sessions", "verification_results", "call_records"}
    assert "subjects" not in tables  # the enrolment is not the session's
    erased = tenant.post(f"/v1/privacy/sessions/{seeded.biz_token}/erase")
    assert erased.status_code == 200, erased.text
    assert erased.json()["items"]["hosted_sessions"] == 1 and erased.json()["items"]["blobs"] == 1
    assert tenant.get(f"/v1/privacy/sessions/{seeded.biz_token}").json()["items"] == []
    assert len(tenant.get("/v1/privacy/subjects/subj-3").json()["items"]) > 10  # the rest stays


def test_another_apps_session_is_out_of_reach(make_tenant: Any, runtime: Any) -> None:
    tenant, other = make_tenant("a"), make_tenant("b")
    seeded = seed_person(runtime, tenant.app_id, "subj-4")
    assert other.get(f"/v1/privacy/sessions/{seeded.biz_token}").json()["items"] == []
    assert other.post(f"/v1/privacy/sessions/{seeded.biz_token}/erase").json()["items"]["hosted_sessions"] == 0
    assert tenant.get(f"/v1/privacy/sessions/{seeded.biz_token}").json()["items"] != []


def test_bad_tokens_are_refused(tenant: Any) -> None:
    assert tenant.get("/v1/privacy/subjects/s?biz_token=no%20spaces").status_code == 400
    assert tenant.post("/v1/privacy/subjects/s/erase", {"biz_tokens": ["a b"]}).status_code == 400


def _audit(runtime: Any) -> list[AuditRecord]:
    with runtime.transaction() as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
