"""``openkyc openapi``: writes the OpenAPI document of the HTTP API (no server, no database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("openapi")
    def openapi_command(
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write to this file instead of standard output.")
        ] = None,
    ) -> None:
        """Write the OpenAPI document (JSON) of the HTTP API."""
        from openkyc.api.app import create_app
        from openkyc.api.openapi import document
        from openkyc.settings import Settings

        text = json.dumps(document(create_app(Settings(environment="test"))), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
