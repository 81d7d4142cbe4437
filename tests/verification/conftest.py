"""Fixtures for verification flows: real clips, generated attacks (shared with tests/liveness)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "liveness"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for documents.render
