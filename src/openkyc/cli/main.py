"""The ``openkyc`` command: each context registers its commands here.

Start-up cost is part of every call, so command modules import only ``typer`` and light modules at
the top and import what a command needs inside it (the database, the models, the server): `openkyc
--help` loads none of them (tests/cli/test_cli_startup.py). Help is printed by click's plain
formatter: typer's rich formatter costs about 0.3 s of imports (markdown-it) before any output.
"""

from __future__ import annotations

import importlib

import typer

from openkyc.cli import admin
from openkyc.cli.common import ErrorReportingGroup

COMMAND_MODULES = ("faces", "liveness", "documents", "privacy", "jobs", "compliance", "openapi", "bulk")


def build() -> typer.Typer:
    app = typer.Typer(
        name="openkyc",
        help="OpenKYC: self-hosted eKYC (face verification, liveness, document OCR).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        cls=ErrorReportingGroup,  # one error format and exit status for every command
        rich_markup_mode=None,  # plain help: no rich/markdown import on --help
    )
    admin.register(app)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"openkyc.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"openkyc.cli.{name}":
                raise
            continue
        module.register(app)
    return app


def main() -> None:
    build()(prog_name="openkyc")
