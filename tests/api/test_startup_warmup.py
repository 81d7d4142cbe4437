"""Start-up warm-up (``OPENKYC_PRELOAD_MODELS``): the request path is exercised before ready,
on generated images, and nothing is written (issue 13: the first request is served like the tenth)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, table

from openkyc.api.warmup import synthetic_document


def _rows(engine: Engine) -> dict[str, int]:
    names = inspect(engine).get_table_names()
    with engine.connect() as connection:
        return {
            name: int(connection.execute(select(func.count()).select_from(table(name))).scalar() or 0) for name in names
        }


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


def test_start_up_warm_up_writes_nothing(
    settings: Any, runtime: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient
    from PIL import Image

    from openkyc.api.app import create_app

    make_tenant()  # an app with a credential: its data must stay as it is
    before = (_rows(runtime.engine), _rows(runtime.subject_keys.engine), _files(settings.data_dir))
    monkeypatch.setattr(Image, "_initialized", 0)  # as in a fresh process: plugins not loaded yet
    on = settings.model_copy(update={"preload_models": True})
    with TestClient(create_app(on, runtime)):
        assert runtime.components["ready"] is True  # start-up done: warm-up included
        after = (_rows(runtime.engine), _rows(runtime.subject_keys.engine), _files(settings.data_dir))
    assert (
        after[0] == before[0] and after[1] == before[1] and after[2] == before[2]
    )  # no row (usage, billing, audit, keys) and no file written by the warm-up
    assert Image._initialized == 2  # Pillow's lazy plugin loading was paid at start-up


def test_no_warm_up_when_models_are_not_preloaded(settings: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``OPENKYC_PRELOAD_MODELS=false``: start-up neither warms the request path nor builds a model."""
    from fastapi.testclient import TestClient

    from openkyc.api import app as app_module

    calls: list[str] = []
    monkeypatch.setattr(app_module, "warm_process", lambda: calls.append("warm_process"))
    monkeypatch.setattr(app_module, "_load_models", lambda models: calls.append("models"))
    off = settings.model_copy(update={"preload_models": False})
    with TestClient(app_module.create_app(off, runtime)):
        assert runtime.components["ready"] is True
    assert calls == []
    on = settings.model_copy(update={"preload_models": True})
    with TestClient(app_module.create_app(on, runtime)):
        assert runtime.components["ready"] is True
    assert calls[0] == "warm_process" and "models" in calls  # the same start-up with the setting on


def test_the_synthetic_document_is_read_like_a_document() -> None:
    """The warm-up's drawn page takes the OCR path a real request takes, MRZ checks included."""
    from openkyc.documents.reader import DocumentReader

    result = DocumentReader.default().read(synthetic_document(), today=date(2026, 3, 1))
    assert result.code == "Success" and result.mrz is not None and result.mrz.checks_pass
