"""The management API: paged and filtered lists, app and credential changes, collection delete and
photo replacement (real models on real photos), tenant isolation, and an audit record per change."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from openkyc.store.models.faces import IndexEvent, Subject
from openkyc.store.models.media import Blob
from openkyc.store.models.privacy import AuditRecord


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@pytest.fixture
def photos(shared_data: Path) -> dict[str, str]:
    ids = shared_data / "facerec-examples" / "identities"
    return {
        "obama": b64(ids / "obama" / "obama.jpg"),
        "obama2": b64(ids / "obama" / "obama2.jpg"),
        "biden": b64(ids / "biden" / "biden.jpg"),
    }


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["Error"]["Code"])


def walk(tenant: Any, path: str, key: str, limit: int) -> list[dict[str, Any]]:
    """Every page of a list, following next_cursor."""
    found: list[dict[str, Any]] = []
    cursor = None
    sep = "&" if "?" in path else "?"
    for _ in range(50):
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = ok(tenant.get(url))
        assert len(body[key]) <= limit
        found.extend(body[key])
        cursor = body["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("the cursor never ended")


def audit_actions(runtime: Any, event_type: str) -> list[dict[str, Any]]:
    with runtime.transaction() as session:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.event_type == event_type).order_by(AuditRecord.seq)
        )
        return [{"app_id": r.app_id, "actor": r.actor, **r.details} for r in rows]


def test_apps_page_with_a_cursor_and_every_creation_is_audited(tenant: Any, runtime: Any) -> None:
    created = [ok(tenant.post("/v1/apps", {"name": f"shop-{i}"})) for i in range(5)]
    assert all(c["secret_key"] and c["secret_id"] for c in created)
    listed = walk(tenant, "/v1/apps", "apps", limit=2)
    assert sorted(a["app_id"] for a in listed) == sorted([tenant.app_id] + [c["app_id"] for c in created])
    assert len({a["app_id"] for a in listed}) == len(listed)  # no page repeats a row
    assert all("secret_key" not in a for a in listed)
    creations = [a for a in audit_actions(runtime, "account_event") if a["action"] == "app_create"]
    assert {a["app_id"] for a in creations} >= {c["app_id"] for c in created}
    assert {a["actor"] for a in creations if a["app_id"] in {c["app_id"] for c in created}} == {tenant.secret_id}
    assert error(tenant.get("/v1/apps?cursor=not-a-cursor"), 400) == "InvalidParameterValue.Cursor"
    assert error(tenant.get("/v1/apps?limit=0"), 400) == "InvalidParameterValue"
    assert error(tenant.post("/v1/apps", {"name": ""}), 400) == "InvalidParameterValue"


def test_a_disabled_app_refuses_its_credentials_until_enabled(tenant: Any, runtime: Any) -> None:
    from dataclasses import replace

    created = ok(tenant.post("/v1/apps", {"name": "to-disable"}))
    other = replace(tenant, app_id=created["app_id"], secret_id=created["secret_id"], secret_key=created["secret_key"])
    assert ok(other.get("/v1/account"))["app_id"] == created["app_id"]
    assert ok(tenant.post(f"/v1/apps/{created['app_id']}/disable"))["disabled"] is True
    assert error(other.get("/v1/account"), 401) == "AuthFailure.AppDisabled"
    assert ok(tenant.get("/v1/apps?disabled=true"))["apps"][0]["app_id"] == created["app_id"]
    ok(tenant.post(f"/v1/apps/{created['app_id']}/enable"))
    ok(other.get("/v1/account"))
    actions = [a["action"] for a in audit_actions(runtime, "account_event") if a["app_id"] == created["app_id"]]
    assert actions == ["app_create", "app_disable", "app_enable"]


def test_credentials_create_rotate_disable_and_list(tenant: Any, runtime: Any) -> None:
    from dataclasses import replace

    extra = ok(tenant.post("/v1/credentials", {}))
    assert extra["app_id"] == tenant.app_id and extra["secret_key"]
    rotated = ok(tenant.post(f"/v1/credentials/{extra['secret_id']}/rotate", {}))
    assert rotated["old_secret_id"] == extra["secret_id"] and rotated["old_disabled"] is True
    old = replace(tenant, secret_id=extra["secret_id"], secret_key=extra["secret_key"])
    new = replace(tenant, secret_id=rotated["secret_id"], secret_key=rotated["secret_key"])
    assert error(old.get("/v1/account"), 401) == "AuthFailure.SecretIdDisabled"
    ok(new.get("/v1/account"))
    assert error(tenant.post(f"/v1/credentials/{extra['secret_id']}/rotate", {}), 400) == (
        "InvalidParameterValue.CredentialDisabled"
    )
    ok(tenant.post(f"/v1/credentials/{rotated['secret_id']}/disable"))
    assert error(new.get("/v1/account"), 401) == "AuthFailure.SecretIdDisabled"
    listed = walk(tenant, "/v1/credentials", "credentials", limit=1)
    assert {c["secret_id"] for c in listed} == {tenant.secret_id, extra["secret_id"], rotated["secret_id"]}
    assert all("secret_key" not in c and "secret_key_enc" not in c for c in listed)
    active = ok(tenant.get("/v1/credentials?status=active"))["credentials"]
    assert [c["secret_id"] for c in active] == [tenant.secret_id]
    events = [(a["action"], a.get("secret_id")) for a in audit_actions(runtime, "credential_event")]
    assert ("rotate", rotated["secret_id"]) in events and ("disable", rotated["secret_id"]) in events


def test_another_account_sees_and_changes_nothing(make_tenant: Any, tenant: Any) -> None:
    stranger = make_tenant("stranger")
    collection = ok(tenant.post("/v1/collections", {"name": "private"}))["collection_id"]
    assert [a["app_id"] for a in ok(stranger.get("/v1/apps"))["apps"]] == [stranger.app_id]
    assert error(stranger.post(f"/v1/apps/{tenant.app_id}/disable"), 404) == "ResourceNotFound.App"
    assert error(stranger.post(f"/v1/credentials/{tenant.secret_id}/rotate", {}), 404) == (
        "ResourceNotFound.Credential"
    )
    assert error(stranger.get(f"/v1/credentials?app_id={tenant.app_id}"), 404) == "ResourceNotFound.App"
    assert error(stranger.delete(f"/v1/collections/{collection}"), 404) == "ResourceNotFound.Collection"
    assert error(stranger.get(f"/v1/collections/{collection}/subjects"), 404) == "ResourceNotFound.Collection"
    assert ok(stranger.get("/v1/collections"))["collections"] == []
    assert ok(stranger.get("/v1/audit-log"))["records"] == [] or all(
        r["app_id"] == stranger.app_id for r in ok(stranger.get("/v1/audit-log"))["records"]
    )


def test_users_list_pages_and_user_creation_is_audited(tenant: Any, runtime: Any) -> None:
    from openkyc.accounts import service as accounts

    with runtime.transaction() as session:
        for i, role in enumerate(["admin", "developer", "auditor"]):
            accounts.create_user(
                session, tenant.account_id, f"user-{i}", "a-long-password-1", accounts.Role(role), actor="test"
            )
    users = walk(tenant, "/v1/users", "users", limit=2)
    assert sorted(u["user_name"] for u in users) == ["user-0", "user-1", "user-2"]
    assert all("password_hash" not in u for u in users)
    assert [u["user_name"] for u in ok(tenant.get("/v1/users?role=auditor"))["users"]] == ["user-2"]
    created = [a for a in audit_actions(runtime, "account_event") if a["action"] == "user_create"]
    assert sorted(a["role"] for a in created) == ["admin", "auditor", "developer"]
    assert all("user_name" not in a for a in created)  # the audit log never holds the name


def test_the_audit_log_lists_the_accounts_own_account_level_records(
    tenant: Any, make_tenant: Any, runtime: Any
) -> None:
    from openkyc.accounts import service as accounts

    stranger = make_tenant("stranger-audit")
    with runtime.transaction() as session:
        accounts.create_user(session, tenant.account_id, "own-user", "a-long-password-1", accounts.Role("developer"))
        accounts.create_user(session, stranger.account_id, "their-user", "a-long-password-1", accounts.Role("admin"))
    records = walk(tenant, "/v1/audit-log?event_type=account_event", "records", limit=50)
    account_level = [r for r in records if r["app_id"] is None]
    assert [r["details"]["role"] for r in account_level if r["details"].get("action") == "user_create"] == ["developer"]
    assert all(r["details"].get("account_id") == tenant.account_id for r in account_level)
    theirs = walk(stranger, "/v1/audit-log?event_type=account_event", "records", limit=50)
    assert [r["details"]["role"] for r in theirs if r["details"].get("action") == "user_create"] == ["admin"]
    # an app filter keeps to that app's records
    assert all(r["app_id"] == tenant.app_id for r in ok(tenant.get(f"/v1/audit-log?app_id={tenant.app_id}"))["records"])


def test_rules_and_collections_list_with_filters(tenant: Any) -> None:
    for name in ("kyc-basic", "kyc-strict", "other"):
        ok(tenant.post("/v1/rules", {"name": name}))
    assert sorted(r["name"] for r in walk(tenant, "/v1/rules?name=kyc", "rules", limit=1)) == [
        "kyc-basic",
        "kyc-strict",
    ]
    for name in ("alpha", "beta"):
        ok(tenant.post("/v1/collections", {"name": name}))
    listed = ok(tenant.get("/v1/collections?name=alp"))["collections"]
    assert [(c["name"], c["subject_count"]) for c in listed] == [("alpha", 0)]


def test_subjects_list_shows_metadata_only(tenant: Any, photos: dict[str, str]) -> None:
    collection = ok(tenant.post("/v1/collections", {"name": "people"}))["collection_id"]
    ident = {"name": "Anna Eriksson", "id_number": "L898902C3", "date_of_birth": "1974-08-12"}
    ok(
        tenant.post(
            f"/v1/collections/{collection}/subjects",
            {"subject_id": "s-1", "image": photos["obama"], "identification": ident},
        )
    )
    ok(tenant.post(f"/v1/collections/{collection}/subjects", {"subject_id": "s-2", "image": photos["biden"]}))
    response = tenant.get(f"/v1/collections/{collection}/subjects?limit=1")
    first = ok(response)
    rest = ok(tenant.get(f"/v1/collections/{collection}/subjects?limit=1&cursor={first['next_cursor']}"))
    subjects = first["subjects"] + rest["subjects"]
    assert sorted(s["subject_id"] for s in subjects) == ["s-1", "s-2"] and rest["next_cursor"] is None
    by_id = {s["subject_id"]: s for s in subjects}
    assert by_id["s-1"]["has_identification"] is True and by_id["s-2"]["has_identification"] is False
    text = response.text + str(rest)
    assert "Anna" not in text and "L898902C3" not in text and "1974" not in text
    listed = ok(tenant.get("/v1/collections"))["collections"]
    assert [(c["collection_id"], c["subject_count"]) for c in listed] == [(collection, 2)]


def test_collection_delete_removes_subjects_images_and_index_entries(
    tenant: Any, runtime: Any, photos: dict[str, str]
) -> None:
    collection = ok(tenant.post("/v1/collections", {"name": "doomed"}))["collection_id"]
    enrol = {"subject_id": "o", "image": photos["obama"], "retain_image": True}
    ok(tenant.post(f"/v1/collections/{collection}/subjects", enrol))
    ok(tenant.post(f"/v1/collections/{collection}/subjects", {"subject_id": "b", "image": photos["biden"]}))
    hit = ok(tenant.post(f"/v1/collections/{collection}/search", {"image": photos["obama2"]}))["matches"][0]
    assert hit["subject_id"] == "o" and hit["match"] is True
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 1
    deleted = ok(tenant.delete(f"/v1/collections/{collection}"))
    assert deleted["subjects_deleted"] == 2 and deleted["deleted"] is True
    assert error(tenant.get(f"/v1/collections/{collection}"), 404) == "ResourceNotFound.Collection"
    assert error(tenant.post(f"/v1/collections/{collection}/search", {"image": photos["obama"]}), 404) == (
        "ResourceNotFound.Collection"
    )
    assert error(tenant.delete(f"/v1/collections/{collection}"), 404) == "ResourceNotFound.Collection"
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Subject)) == 0
        assert session.scalar(select(func.count()).select_from(Blob)) == 0
        removes = session.scalar(
            select(func.count())
            .select_from(IndexEvent)
            .where(IndexEvent.collection_id == collection, IndexEvent.op == "remove")
        )
        assert removes == 2  # every process's index drops them
    assert runtime.face_index.size(collection) == 0
    blob_dir = runtime.settings.blob_dir
    assert not blob_dir.exists() or not [p for p in blob_dir.rglob("*") if p.is_file()]
    again = ok(tenant.post("/v1/collections", {"name": "doomed"}))  # the name is free again
    assert again["collection_id"] != collection


def test_photo_replacement_reissues_the_template_and_checks_duplicates(
    tenant: Any, runtime: Any, photos: dict[str, str]
) -> None:
    collection = ok(tenant.post("/v1/collections", {"name": "dedup", "duplicate_check": True}))["collection_id"]
    ok(tenant.post(f"/v1/collections/{collection}/subjects", {"subject_id": "barack", "image": photos["obama"]}))
    ok(tenant.post(f"/v1/collections/{collection}/subjects", {"subject_id": "joe", "image": photos["biden"]}))
    path = f"/v1/collections/{collection}/subjects"
    # joe's photo replaced by another photo of barack: the duplicate check refuses it, nothing changes
    assert error(tenant.put(f"{path}/joe/photo", {"image": photos["obama2"]}), 422) == "FailedOperation.DuplicateFace"
    hit = ok(tenant.post(f"/v1/collections/{collection}/search", {"image": photos["biden"]}))["matches"][0]
    assert hit["subject_id"] == "joe" and hit["match"] is True
    # barack's own new photo passes (the subject itself is not a duplicate) and is what search now finds
    with runtime.transaction() as session:
        before = session.scalar(
            select(Subject.template).where(Subject.collection_id == collection).order_by(Subject.id)
        )
    replaced = ok(tenant.put(f"{path}/barack/photo", {"image": photos["obama2"], "retain_image": True}))
    assert replaced["replaced"] is True and replaced["image_retained_until"]
    with runtime.transaction() as session:
        after = session.scalar(select(Subject.template).where(Subject.collection_id == collection).order_by(Subject.id))
        assert session.scalar(select(func.count()).select_from(Blob)) == 1
    assert before != after
    top = ok(tenant.post(f"/v1/collections/{collection}/search", {"image": photos["obama2"]}))["matches"][0]
    assert top["subject_id"] == "barack" and top["sim"] > 95  # the same photo as the stored template
    # replacing again deletes the image retained by the previous replacement
    ok(tenant.put(f"{path}/barack/photo", {"image": photos["obama"]}))
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 0
    assert error(tenant.put(f"{path}/nobody/photo", {"image": photos["obama"]}), 404) == "ResourceNotFound.Subject"
    assert error(tenant.put(f"{path}/barack/photo", {"image": "bm90IGFuIGltYWdl"}), 400).startswith(
        "InvalidParameterValue"
    )


def test_verifications_and_sessions_list_redacted(tenant: Any, runtime: Any) -> None:
    from openkyc.privacy.vocabulary import Purpose
    from openkyc.verification.repository import ResultRepository

    now = runtime.clock()
    with runtime.transaction() as session:
        repo = ResultRepository(session, runtime.gate, runtime.keyring)
        for i, code in enumerate(["Success", "FailedOperation.SilentDetectFail", "Success"]):
            repo.add(
                tenant.app_id, kind="selfie" if i else "identity", subject_id=f"person-{i}", result_code=code,
                live=code == "Success", sim=80.0, details={}, identification={"name": "Anna Eriksson"},
                now=now - timedelta(minutes=i), expires_at=now + timedelta(days=1), purpose=Purpose.PROVIDE_FEATURES,
            )  # fmt: skip
    rows = walk(tenant, "/v1/verifications", "verifications", limit=2)
    assert [r["Result"] for r in rows] == ["Success", "FailedOperation.SilentDetectFail", "Success"]
    assert all(
        set(r) == {"verification_id", "kind", "Result", "live", "has_subject", "created_at", "expires_at"} for r in rows
    )
    failed = ok(tenant.get("/v1/verifications?result=FailedOperation.SilentDetectFail"))["verifications"]
    assert len(failed) == 1 and failed[0]["kind"] == "selfie"
    assert [r["kind"] for r in ok(tenant.get("/v1/verifications?kind=identity"))["verifications"]] == ["identity"]
    text = str(rows)
    assert "Anna" not in text and "person-" not in text
    hosted = ok(tenant.post("/v1/sessions", {"redirect_url": "https://example.com/done", "extra": "order-9"}))
    sessions = ok(tenant.get("/v1/sessions"))["sessions"]
    assert [s["state"] for s in sessions] == ["created"]
    assert hosted["biz_token"] not in str(sessions) and "order-9" not in str(sessions)


@pytest.mark.parametrize("app_id", [2**63, -(2**63) - 1, 10**30])
def test_an_app_id_no_database_column_holds_is_an_unknown_app(tenant: Any, app_id: int) -> None:
    """Beyond 64 bits the database driver refused the value (OverflowError on SQLite): a 500."""
    assert error(tenant.post(f"/v1/apps/{app_id}/disable"), 404) == "ResourceNotFound.App"
    assert error(tenant.post(f"/v1/apps/{app_id}/enable"), 404) == "ResourceNotFound.App"
    assert error(tenant.post("/v1/credentials", {"app_id": app_id}), 404) == "ResourceNotFound.App"
    for path in ("/v1/credentials", "/v1/audit-log", "/v1/webhooks/deliveries"):
        assert error(tenant.get(f"{path}?app_id={app_id}"), 404) == "ResourceNotFound.App"
    assert ok(tenant.get("/v1/credentials"))["credentials"]  # nothing was changed
