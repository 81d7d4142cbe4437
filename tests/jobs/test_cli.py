"""``openkyc serve --workers``, ``openkyc worker`` and ``openkyc webhooks secret``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openkyc.cli.main import build
from openkyc.jobs import webhook_secret


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("DATABASE_URL", "MASTER_KEY", "REDIS_URL", "WORKERS"):
        monkeypatch.delenv(f"OPENKYC_{name}", raising=False)
    runner = CliRunner()
    app = build()
    return lambda *args: runner.invoke(app, list(args))


def test_serve_refuses_several_workers_on_sqlite(cli: Any, tmp_path: Path) -> None:
    result = cli("serve", "--data-dir", str(tmp_path), "--workers", "2")
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "UnsupportedOperation.SQLiteOneProcess" in message
    assert "one writer" in message and "PostgreSQL" in message
    assert "listening on" not in result.stdout
    assert not (tmp_path / "openkyc.db").exists()  # refused before anything was created


def test_serve_refuses_workers_from_the_environment_too(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENKYC_WORKERS", "3")
    result = cli("serve", "--data-dir", str(tmp_path))
    assert result.exit_code == 2 and "--workers 3 refused" in " ".join(result.stderr.split())


def test_worker_needs_redis(cli: Any, tmp_path: Path) -> None:
    result = cli("worker", "--data-dir", str(tmp_path))
    assert result.exit_code == 1 and result.stderr.startswith("error: FailedOperation.NoJobQueue:")


def test_webhooks_secret_is_the_signing_secret(cli: Any, tmp_path: Path) -> None:
    from openkyc.runtime import Runtime
    from openkyc.settings import Settings

    init = json.loads(cli("init", "--data-dir", str(tmp_path), "--json").stdout)
    result = cli("webhooks", "secret", "--app-id", str(init["app_id"]), "--data-dir", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    runtime = Runtime.open(Settings(data_dir=tmp_path), migrate=False)
    try:
        assert shown["secret"] == webhook_secret(runtime.keyring, init["app_id"])
    finally:
        runtime.close()
    assert shown["header"] == "X-OpenKYC-Signature"
    missing = cli("webhooks", "secret", "--app-id", "999", "--data-dir", str(tmp_path))
    assert missing.exit_code == 1 and missing.stderr.startswith("error: ResourceNotFound.App:")
