"""Found trying the management API as a new operator: ``openkyc.client`` had no method for any
management operation (lists, apps, credentials, collection delete, photo replacement, audit log,
webhook deliveries), and its drift test failed. These calls run on the real app, with real photos."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from openkyc.client import Client, InvalidParameterError, ResourceNotFoundError


def _walk(list_call: Any, key: str, **filters: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        page = list_call(limit=2, cursor=cursor, **filters)
        assert len(page[key]) <= 2
        rows.extend(page[key])
        cursor = page["next_cursor"]
        if cursor is None:
            return rows
    raise AssertionError("the cursor never ended")


def test_every_management_list_pages_and_every_change_works(tenant: Any, shared_data: Path) -> None:
    ids = shared_data / "facerec-examples" / "identities"
    photo = {n: base64.b64encode((ids / n / f"{n}.jpg").read_bytes()).decode() for n in ("obama", "biden")}
    obama2 = base64.b64encode((ids / "obama" / "obama2.jpg").read_bytes()).decode()
    kyc = Client("http://testserver", tenant.secret_id, tenant.secret_key, http=tenant.client)

    made = [kyc.create_app(f"shop-{i}") for i in range(3)]
    assert all(m["secret_key"] for m in made)
    apps = _walk(kyc.list_apps, "apps")
    assert {a["app_id"] for a in apps} == {tenant.app_id} | {m["app_id"] for m in made}
    assert kyc.disable_app(made[0]["app_id"])["disabled"] is True
    assert [a["app_id"] for a in _walk(kyc.list_apps, "apps", disabled=True)] == [made[0]["app_id"]]
    assert kyc.enable_app(made[0]["app_id"])["disabled"] is False

    extra = kyc.create_credential()
    rotated = kyc.rotate_credential(extra["secret_id"])
    assert rotated["old_secret_id"] == extra["secret_id"] and rotated["secret_key"]
    kyc.disable_credential(rotated["secret_id"])
    creds = {c["secret_id"]: c["status"] for c in _walk(kyc.list_credentials, "credentials")}
    assert creds == {tenant.secret_id: "active", extra["secret_id"]: "disabled", rotated["secret_id"]: "disabled"}
    assert [c["secret_id"] for c in _walk(kyc.list_credentials, "credentials", status="active")] == [tenant.secret_id]

    for name in ("alpha", "beta", "gamma"):
        kyc.create_rule(f"rule-{name}")
    assert sorted(r["name"] for r in _walk(kyc.list_rules, "rules", name="rule-")) == [
        "rule-alpha",
        "rule-beta",
        "rule-gamma",
    ]

    collection = kyc.create_collection("people", duplicate_check=True)["collection_id"]
    kyc.create_subject(collection, "barack", photo["obama"])
    kyc.create_subject(collection, "joe", photo["biden"])
    assert [c["name"] for c in _walk(kyc.list_collections, "collections", name="peo")] == ["people"]
    assert sorted(s["subject_id"] for s in _walk(lambda **q: kyc.list_subjects(collection, **q), "subjects")) == [
        "barack",
        "joe",
    ]
    assert kyc.replace_subject_photo(collection, "barack", obama2)["replaced"] is True
    with pytest.raises(ResourceNotFoundError):
        kyc.replace_subject_photo(collection, "nobody", obama2)
    assert kyc.search_faces(collection, obama2)["matches"][0]["subject_id"] == "barack"

    assert _walk(kyc.list_verifications, "verifications", kind="selfie") == []
    assert _walk(kyc.list_sessions, "sessions") == []
    assert _walk(kyc.list_webhook_deliveries, "deliveries") == []
    assert _walk(kyc.list_users, "users") == []
    with pytest.raises(ResourceNotFoundError):
        kyc.redeliver_webhook("no-such-delivery")

    assert kyc.delete_collection(collection)["subjects_deleted"] == 2
    with pytest.raises(ResourceNotFoundError):
        kyc.list_subjects(collection)

    audited = _walk(kyc.list_audit_records, "records")
    actions = {(r["event_type"], r["details"].get("action")) for r in audited}
    for expected in [
        ("account_event", "app_create"),
        ("credential_event", "rotate"),
        ("credential_event", "disable"),
        ("config_change", "subject_photo_replace"),
        ("config_change", "collection_delete"),
    ]:
        assert expected in actions, expected
    assert {r["event_type"] for r in _walk(kyc.list_audit_records, "records", event_type="credential_event")} == {
        "credential_event"
    }
    with pytest.raises(InvalidParameterError):
        kyc.list_apps(cursor="not-a-cursor")
