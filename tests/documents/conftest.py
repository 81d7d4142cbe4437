"""Fixtures of the document tests: one real reader per session (models load once)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

TODAY = date(2026, 6, 1)


@pytest.fixture(scope="session")
def reader() -> Any:
    from openkyc.documents.reader import DocumentReader

    return DocumentReader.default(num_threads=1)


@pytest.fixture(scope="session")
def specimens(shared_data: Path) -> Path:
    return shared_data / "mrz-specimens"
