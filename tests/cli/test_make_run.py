"""``make run``: runtime dependencies only, an account (not a key file) decides "initialised"."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openkyc.cli.main import build

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("OPENKYC_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENKYC_MASTER_KEY", raising=False)
    runner = CliRunner()
    app = build()
    return lambda *args: runner.invoke(app, list(args))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_installs_the_runtime_only_and_asks_for_an_account(tmp_path: Path) -> None:
    venv = tmp_path / "venv"  # absent: make shows every step it would take
    plan = subprocess.run(
        ["make", "-n", "run", f"VENV={venv}", f"DATA_DIR={tmp_path / 'data'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs == [f"{venv}/bin/python -m pip install --quiet -e ."]
    assert "[test]" not in plan and "master.key" not in plan
    assert f"openkyc init --data-dir {tmp_path / 'data'} --if-missing" in plan
    assert f"openkyc serve --data-dir {tmp_path / 'data'}" in plan


def test_a_directory_served_before_init_gets_an_account(cli: Any, tmp_path: Path) -> None:
    from openkyc.privacy.crypto import write_master_key_file
    from openkyc.store import db

    write_master_key_file(tmp_path / "master.key")  # what `serve` leaves behind
    engine = db.make_engine(f"sqlite:///{tmp_path / 'openkyc.db'}")
    db.upgrade(engine)
    engine.dispose()
    first = cli("init", "--data-dir", str(tmp_path), "--if-missing", "--json")
    assert first.exit_code == 0, first.output
    made = json.loads(first.stdout)
    assert made["secret_key"] and made["app_id"]
    again = cli("init", "--data-dir", str(tmp_path), "--if-missing", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {
        "initialised": False,
        "account_id": made["account_id"],
        "data_dir": str(tmp_path.resolve()),
    }
    human = cli("init", "--data-dir", str(tmp_path), "--if-missing")
    assert human.exit_code == 0 and "already initialised" in human.stdout
    refused = cli("init", "--data-dir", str(tmp_path))  # without --if-missing: still refused
    assert refused.exit_code == 1 and refused.stderr.startswith("error: FailedOperation.AlreadyInitialised:")


@pytest.mark.parametrize(
    ("host", "shown"), [("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("::1", "[::1]"), ("kyc.lan", "kyc.lan")]
)
def test_the_printed_address_is_one_a_client_can_call(host: str, shown: str) -> None:
    from openkyc.cli.admin import _url_host

    assert _url_host(host) == shown
