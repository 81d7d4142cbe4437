"""Fails when a setting, a CLI command or an HTTP route is not documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.main import get_command

from openkyc.cli.main import build
from openkyc.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _commands(group: object, prefix: str) -> list[str]:
    subcommands = getattr(group, "commands", None)
    if isinstance(subcommands, dict):
        found: list[str] = []
        for name, sub in subcommands.items():
            found.extend(_commands(sub, f"{prefix} {name}"))
        return found
    return [prefix]


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`OPENKYC_{name.upper()}`" in (DOCS / "settings.md").read_text()


def _cli_commands() -> list[str]:
    app: typer.Typer = build()
    return sorted(_commands(get_command(app), "openkyc"))


@pytest.mark.parametrize("command", _cli_commands())
def test_every_cli_command_is_documented(command: str) -> None:
    assert f"`{command}" in (DOCS / "cli.md").read_text(), f"{command} missing from docs/cli.md"


def test_every_route_is_documented() -> None:
    from openkyc.api.app import create_app

    app = create_app(Settings(environment="test"))
    text = (DOCS / "api.md").read_text()
    missing = []
    for route in app.routes:
        path = getattr(route, "path", "")
        methods = sorted(getattr(route, "methods", None) or [])
        if not path or path.startswith(("/docs", "/openapi", "/redoc")):
            continue
        for method in methods:
            if method in {"HEAD", "OPTIONS"}:
                continue
            if f"`{method} {path}`" not in text:
                missing.append(f"{method} {path}")
    assert missing == []
