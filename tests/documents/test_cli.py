from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from openkyc.cli.common import ErrorReportingGroup
from openkyc.cli.documents import register


def _app() -> typer.Typer:
    app = typer.Typer(cls=ErrorReportingGroup)  # the root command's error format
    register(app)

    @app.callback()
    def _root() -> None:  # keep "ocr" a sub-command
        pass

    return app


def test_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["ocr", str(tmp_path / "nope.jpg"), "--json"])
    assert result.exit_code == 2 and result.stderr == ""
    assert json.loads(result.stdout)["Error"]["Code"] == "InvalidParameterValue.FileNotFound"


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(b"not an image at all")
    result = CliRunner().invoke(_app(), ["ocr", str(path), "--json"])
    assert result.exit_code == 2 and result.stderr == ""
    assert json.loads(result.stdout)["Error"]["Code"] == "InvalidParameterValue.ImageDecodeFailed"
    human = CliRunner().invoke(_app(), ["ocr", str(path)])
    assert human.exit_code == 2 and human.stdout == ""
    assert human.stderr.startswith("error: InvalidParameterValue.ImageDecodeFailed:")


def test_huge_image(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    Image.new("1", (30_000, 30_000)).save(path, optimize=True)
    result = CliRunner().invoke(_app(), ["ocr", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: InvalidParameterValue.ImageSizeTooLarge:")


@pytest.mark.slow
def test_ocr_json_on_specimen(shared_data: Path) -> None:
    result = CliRunner().invoke(_app(), ["ocr", str(shared_data / "mrz-specimens" / "td3.jpg"), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["document_type"] == "PASSPORT" and doc["mrz"]["valid"] is True
    assert doc["mrz"]["lines"][1] == "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    assert len(doc["portrait"]["box"]) == 4 and "warnings" in doc


@pytest.mark.slow
def test_ocr_no_document(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.fromarray(np.full((300, 400, 3), 90, np.uint8)).save(path)
    result = CliRunner().invoke(_app(), ["ocr", str(path), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["code"] == "FailedOperation.DocumentNotFound"
