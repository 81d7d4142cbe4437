"""Fixtures of the hosted-flow tests: real clips and rendered documents (shared with tests/liveness
and tests/documents)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "liveness"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for documents.render
