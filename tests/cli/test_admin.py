"""The set-up commands: init, credentials, apps, keys, db upgrade."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openkyc.cli.main import build


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("OPENKYC_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENKYC_MASTER_KEY", raising=False)
    runner = CliRunner()
    app = build()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args))

    return invoke


def _json(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_init_prints_a_working_credential(cli: Any, tmp_path: Path) -> None:
    out = _json(cli("init", "--data-dir", str(tmp_path), "--json"))
    assert {"account_id", "app_id", "secret_id", "secret_key"} <= set(out)
    assert out["secret_id"].startswith("AKID")
    key_file = tmp_path / "master.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    db_bytes = (tmp_path / "openkyc.db").read_bytes()
    assert out["secret_key"].encode() not in db_bytes

    from fastapi.testclient import TestClient

    from openkyc.accounts.signing import sign_request
    from openkyc.api.app import create_app
    from openkyc.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        headers = sign_request(
            out["secret_id"],
            out["secret_key"],
            method="GET",
            path="/v1/account",
            host="testserver",
            timestamp=int(__import__("time").time()),
        )
        response = client.get("/v1/account", headers=headers)
    assert response.status_code == 200
    assert response.json()["app_id"] == out["app_id"]


def test_init_twice_is_refused(cli: Any, tmp_path: Path) -> None:
    _json(cli("init", "--data-dir", str(tmp_path), "--json"))
    second = cli("init", "--data-dir", str(tmp_path), "--json")
    assert second.exit_code != 0
    assert "AlreadyInitialised" in second.output


def test_credentials_rotate_disable_list(cli: Any, tmp_path: Path) -> None:
    out = _json(cli("init", "--data-dir", str(tmp_path), "--json"))
    rotated = _json(cli("credentials", "rotate", out["secret_id"], "--data-dir", str(tmp_path), "--json"))
    assert rotated["old_disabled"] is True and rotated["secret_id"] != out["secret_id"]
    listing = _json(cli("credentials", "list", "--app-id", str(out["app_id"]), "--data-dir", str(tmp_path), "--json"))
    statuses = {c["secret_id"]: c["status"] for c in listing["credentials"]}
    assert statuses == {out["secret_id"]: "disabled", rotated["secret_id"]: "active"}
    assert all("secret_key" not in c for c in listing["credentials"])
    _json(cli("credentials", "disable", rotated["secret_id"], "--data-dir", str(tmp_path), "--json"))
    missing = cli("credentials", "disable", "AKIDnope", "--data-dir", str(tmp_path), "--json")
    assert missing.exit_code != 0 and "ResourceNotFound.Credential" in missing.output


def test_apps_create_and_list(cli: Any, tmp_path: Path) -> None:
    _json(cli("init", "--data-dir", str(tmp_path), "--json"))
    made = _json(cli("apps", "create", "--name", "second", "--data-dir", str(tmp_path), "--json"))
    names = {a["name"] for a in _json(cli("apps", "list", "--data-dir", str(tmp_path), "--json"))["apps"]}
    assert names == {"default", "second"} and made["secret_key"]


def test_master_key_rotation_keeps_credentials_working(cli: Any, tmp_path: Path) -> None:
    out = _json(cli("init", "--data-dir", str(tmp_path), "--json"))
    old_key = (tmp_path / "master.key").read_bytes()
    rotated = _json(cli("keys", "rotate-master", "--data-dir", str(tmp_path), "--json"))
    assert rotated["rewrapped_data_keys"] == 1
    assert (tmp_path / "master.key").read_bytes() != old_key
    assert (tmp_path / "master.old").read_bytes() == old_key
    _json(cli("keys", "rotate-data", "--data-dir", str(tmp_path), "--json"))
    # the credential (encrypted under the first data key) still resolves after both rotations
    from openkyc.accounts import service as accounts
    from openkyc.runtime import Runtime
    from openkyc.settings import Settings

    runtime = Runtime.open(Settings(data_dir=tmp_path))
    with runtime.transaction() as session:
        _, secret = accounts.resolve_secret(session, runtime.keyring, out["secret_id"])
    runtime.close()
    assert secret == out["secret_key"]


def test_commands_before_init_fail_clearly(cli: Any, tmp_path: Path) -> None:
    result = cli("apps", "list", "--data-dir", str(tmp_path / "empty"))
    assert result.exit_code != 0
    assert "NotInitialised" in result.output


def test_db_upgrade(cli: Any, tmp_path: Path) -> None:
    result = cli("db", "upgrade", "--data-dir", str(tmp_path))
    assert result.exit_code == 0
    assert (tmp_path / "openkyc.db").exists()


def test_apps_limits_show_set_and_reset(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENKYC_DEFAULT_QPS_LIMIT", "20")
    app_id = str(_json(cli("init", "--data-dir", str(tmp_path), "--json"))["app_id"])
    base = ("apps", "limits", "--app-id", app_id, "--data-dir", str(tmp_path), "--json")
    shown = _json(cli(*base))
    assert shown["qps_limit"] is None and shown["effective_qps_limit"] == 20
    assert shown["monthly_quota"] is None and shown["effective_monthly_quota"] is None
    changed = _json(cli(*base, "--qps-limit", "5", "--monthly-quota", "1000"))
    assert (changed["effective_qps_limit"], changed["effective_monthly_quota"]) == (5, 1000)
    [listed] = _json(cli("apps", "list", "--data-dir", str(tmp_path), "--json"))["apps"]
    assert (listed["qps_limit"], listed["monthly_quota"]) == (5, 1000)
    reset = _json(cli(*base, "--qps-limit", "default"))
    assert (reset["qps_limit"], reset["effective_qps_limit"], reset["monthly_quota"]) == (None, 20, 1000)
    assert cli(*base, "--qps-limit", "0").exit_code != 0
    assert cli(*base, "--monthly-quota", "-1").exit_code != 0
    assert cli("apps", "limits", "--app-id", "1", "--data-dir", str(tmp_path), "--json").exit_code != 0


def test_numbers_no_column_holds_are_refused_as_bad_input(cli: Any, tmp_path: Path) -> None:
    """An id beyond 64 bits or a limit beyond the 32-bit column: exit 2 with InvalidParameterValue,
    never InternalError (the driver's OverflowError, or PostgreSQL's integer out of range)."""
    app_id = str(_json(cli("init", "--data-dir", str(tmp_path), "--json"))["app_id"])
    huge = str(10**30)
    for args in (
        ("credentials", "list", "--app-id", huge),
        ("apps", "limits", "--app-id", huge),
        ("webhooks", "secret", "--app-id", huge),
        ("accounts", "erase", huge, "--yes"),
        ("apps", "limits", "--app-id", app_id, "--monthly-quota", str(2**31)),
        ("apps", "limits", "--app-id", app_id, "--qps-limit", huge),
    ):
        result = cli(*args, "--data-dir", str(tmp_path), "--json")
        assert result.exit_code == 2, (args, result.output)
        assert json.loads(result.stdout)["Error"]["Code"] == "InvalidParameterValue", (args, result.output)
    shown = _json(
        cli(
            "apps",
            "limits",
            "--app-id",
            app_id,
            "--monthly-quota",
            str(2**31 - 1),
            "--data-dir",
            str(tmp_path),
            "--json",
        )
    )
    assert shown["monthly_quota"] == 2**31 - 1
