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
    from openkyc.api.app import api_routes, create_app

    routes = api_routes(create_app(Settings(environment="test")))
    assert len(routes) > 30  # the walk reaches the included routers
    text = (DOCS / "api.md").read_text()
    missing = [
        f"{method} {path}"
        for method, path, _ in routes
        if not path.startswith(("/docs", "/openapi", "/redoc")) and f"`{method} {path}`" not in text
    ]
    assert missing == []
