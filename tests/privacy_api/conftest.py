"""Fixtures for the privacy wiring tests: DEBUG logging, photos, a CLI on the test's data directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openkyc.cli.main import build


@pytest.fixture
def settings(settings: Any) -> Any:
    """The shared settings, logging at DEBUG so log-hygiene checks see everything."""
    return settings.model_copy(update={"log_level": "DEBUG"})


@pytest.fixture
def photos(shared_data: Path) -> dict[str, Path]:
    ids = shared_data / "facerec-examples" / "identities"
    return {
        "obama": ids / "obama" / "obama.jpg",
        "obama2": ids / "obama" / "obama2.jpg",
        "biden": ids / "biden" / "biden.jpg",
    }


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Callable[..., Any]:
    """``openkyc`` against the test's data directory, database and master key."""
    monkeypatch.setenv("OPENKYC_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("OPENKYC_MASTER_KEY", settings.master_key.get_secret_value())
    monkeypatch.setenv("OPENKYC_ENVIRONMENT", "test")
    runner = CliRunner()
    app = build()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, [*args, "--data-dir", str(settings.data_dir)])

    return invoke
