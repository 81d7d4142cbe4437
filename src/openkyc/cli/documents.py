"""CLI command of the document domain: ``openkyc ocr IMAGE [--json]``."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from openkyc.cli.common import read_input

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
NoPortraitOpt = Annotated[bool, typer.Option("--no-portrait", help="Skip the portrait (face) search.")]


def ocr(image: Path, as_json: JsonOpt = False, no_portrait: NoPortraitOpt = False) -> None:
    """Read an identity document: document_type, fields, MRZ (lines, valid, checks), warnings, portrait box."""
    from openkyc.documents.reader import DocumentReader

    data = read_input(image, "image")
    reader = DocumentReader.default(portrait=not no_portrait)
    result = reader.read_bytes(data, today=date.today()).to_dict()  # errors: reported by the root command
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    for line in _human(result):
        typer.echo(line)


def _human(result: dict[str, Any]) -> list[str]:
    lines = [f"code: {result['code']}", f"document_type: {result['document_type']}"]
    mrz = result["mrz"]
    if mrz is not None:
        lines.append(f"mrz: {mrz['format']} valid={mrz['valid']} expired={mrz['expired']}")
        lines.extend(f"  {line}" for line in mrz["lines"])
        lines.extend(f"  check {c['name']}: {'ok' if c['ok'] else 'FAILED'}" for c in mrz["checks"])
    lines.extend(f"{name}: {value}" for name, value in result["fields"].items())
    lines.append(f"warnings: {', '.join(result['warnings']) or 'none'}")
    if result["portrait"] is not None:
        lines.append(f"portrait: {result['portrait']['box']}")
    return lines


def register(app: typer.Typer) -> None:
    app.command("ocr")(ocr)
