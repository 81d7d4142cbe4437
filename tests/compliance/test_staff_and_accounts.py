"""Staff users (export, erasure with the audit log intact) and whole accounts (offboarding), by CLI."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from seeding import seed_person
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from openkyc.accounts import service as accounts
from openkyc.cli.main import build
from openkyc.privacy import audit
from openkyc.privacy.reach import staff_reference
from openkyc.privacy.service import subject_salt
from openkyc.store.models import Base
from openkyc.store.models.accounts import Account, User
from openkyc.store.models.privacy import AuditRecord, ErasureReceiptRow


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Callable[..., Any]:
    monkeypatch.setenv("OPENKYC_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("OPENKYC_MASTER_KEY", settings.master_key.get_secret_value())
    monkeypatch.setenv("OPENKYC_ENVIRONMENT", "test")
    runner, app = CliRunner(), build()

    def invoke(*args: str) -> Any:
        result = runner.invoke(app, [*args, "--data-dir", str(settings.data_dir)])
        return result

    return invoke


def _json(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_staff_user_export_and_erasure_keep_the_audit_chain(
    cli: Callable[..., Any], runtime: Any, tenant: Any, tmp_path: Path
) -> None:
    with runtime.transaction() as session:
        user = accounts.create_user(
            session, tenant.account_id, "alice.martin", "a-long-password-1", accounts.Role.ADMIN
        )
        actor = staff_reference(subject_salt(runtime.keyring), tenant.account_id, user.id)
        audit.append(session, audit.AuditEvent.CONFIG_CHANGE, actor=actor, app_id=tenant.app_id, details={"rule": 1})
        user_id = user.id

    archive = tmp_path / "alice.zip"
    export = _json(cli("users", "export", "--user-name", "alice.martin", "--zip", str(archive), "--json"))
    assert export["target"] == "staff_user" and export["user_id"] == user_id
    values = {(i["table"], i["column"]): i["value"] for i in export["items"]}
    assert values[("users", "user_name")] == {"user_name": "alice.martin"}
    assert "argon2" not in json.dumps(values[("users", "password_hash")]).replace("argon2id hash", "")
    assert values[("audit_log", "actor")]["actor"] == actor
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as zipped:
        assert {"manifest.json", "summary.html"} <= set(zipped.namelist())

    assert cli("users", "erase", "--user-name", "alice.martin").exit_code != 0  # needs --yes
    receipt = _json(cli("users", "erase", "--user-name", "alice.martin", "--yes", "--json"))
    assert receipt["items"]["users"] == 1 and sum(receipt["items"].values()) == 1
    assert receipt["app_id"] == 0
    with runtime.transaction() as session:
        assert session.get(User, user_id) is None
        assert audit.verify(session).ok  # nothing in the chain was edited
        records = list(session.scalars(select(AuditRecord)))
        assert any(r.actor == actor for r in records)
        assert "alice.martin" not in json.dumps([[r.actor, r.details] for r in records])
    assert cli("users", "export", "--user-name", "alice.martin", "--json").exit_code != 0  # gone


def test_offboarding_erases_the_account_and_all_its_apps_with_one_receipt(
    cli: Callable[..., Any], runtime: Any, make_tenant: Any
) -> None:
    leaving, staying = make_tenant("leaving"), make_tenant("staying")
    with runtime.transaction() as session:
        second = accounts.create_app(session, leaving.account_id, "second").id
        accounts.create_user(session, leaving.account_id, "bob", "a-long-password-2", accounts.Role.OWNER)
    first = seed_person(runtime, leaving.app_id, "p-1")
    seed_person(runtime, second, "p-2")
    kept = seed_person(runtime, staying.app_id, "p-1")
    assert leaving.get("/v1/account").status_code == 200

    assert cli("accounts", "erase", str(leaving.account_id)).exit_code != 0  # needs --yes
    done = _json(cli("accounts", "erase", str(leaving.account_id), "--yes", "--json"))
    assert sorted(done["app_ids"]) == sorted([leaving.app_id, second])
    items = done["items"]
    assert items["apps"] == 2 and items["accounts"] == 1 and items["users"] == 1
    assert items["subjects"] == 2 and items["verification_results"] == 4 and items["blobs"] == 6

    apps = [leaving.app_id, second]
    with runtime.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if "app_id" in table.columns and table.name not in ("audit_log", "erasure_receipts"):
                left = session.execute(
                    text(f'SELECT COUNT(*) FROM "{table.name}" WHERE app_id IN ({apps[0]}, {apps[1]})')
                ).scalar()
                assert left == 0, table.name
        assert session.get(Account, leaving.account_id) is None
        assert session.scalar(select(func.count()).select_from(ErasureReceiptRow)) == 1
        assert audit.verify(session).ok
    for blob_id in first.blob_ids:
        assert not runtime.blobs._path(blob_id).exists()
    assert leaving.get("/v1/account").status_code == 401  # its credentials are gone
    assert len(staying.get(f"/v1/privacy/subjects/p-1?biz_token={kept.biz_token}").json()["items"]) > 20
    assert cli("accounts", "erase", str(leaving.account_id), "--yes").exit_code != 0  # no such account
