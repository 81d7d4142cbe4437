"""The ``openkyc`` command: each context registers its commands here."""

from __future__ import annotations

import importlib

import typer

from openkyc.cli import admin
from openkyc.cli.common import ErrorReportingGroup

COMMAND_MODULES = ("faces", "liveness", "documents", "privacy", "jobs", "compliance", "openapi")


def build() -> typer.Typer:
    app = typer.Typer(
        name="openkyc",
        help="OpenKYC: self-hosted eKYC (face verification, liveness, document OCR).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        cls=ErrorReportingGroup,  # one error format and exit status for every command
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
