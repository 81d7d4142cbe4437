"""Helpers shared by CLI commands: settings, JSON output, clear errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from openkyc.errors import OpenKYCError
from openkyc.settings import Settings

T = TypeVar("T")

DataDirOption = typer.Option(
    None, "--data-dir", "-d", help="Data directory (default: OPENKYC_DATA_DIR or ./openkyc-data)."
)
JsonOption = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else.")

err_console = Console(stderr=True)


def load_settings(data_dir: Path | None, **overrides: Any) -> Settings:
    values = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def emit(payload: Any, as_json: bool, human: Callable[[Any], None] | None = None) -> None:
    """Print ``payload`` as one JSON document, or through ``human`` for a person."""
    if as_json or human is None:
        sys.stdout.write(json.dumps(payload, indent=None if as_json else 2, default=str) + "\n")
    else:
        human(payload)


def fail(message: str, code: str = "InvalidParameter", exit_code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error[/red] {code}: {message}", highlight=False)
    return typer.Exit(exit_code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """OpenKYC errors become ``code: message`` on stderr and a non-zero exit."""
    try:
        yield
    except OpenKYCError as exc:
        raise fail(exc.message, exc.error_code, 1 if exc.status_code >= 500 else 2) from exc
