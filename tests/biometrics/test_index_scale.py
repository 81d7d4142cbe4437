"""Start-up with more subjects than SQLite allows variables in one statement (issue 13: 250,010
subjects in one app failed with "too many SQL variables"); the index is read by keyset pages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sealed_rows import insert_sealed

from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.search import IndexManager
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.vocabulary import Purpose

pytestmark = pytest.mark.slow  # not a model, but half a minute of inserts

N = 260_000


def test_index_loads_more_rows_than_sqlite_variables(tenant: Any, runtime: Any) -> None:
    col = tenant.post("/v1/collections", {"name": "big"}).json()["collection_id"]
    codes = np.random.default_rng(11).integers(0, 256, size=(N, 128), dtype=np.uint8)
    insert_sealed(runtime, tenant.app_id, col, codes, key_id="tk-big")
    manager = IndexManager()
    with runtime.transaction() as session:
        manager.load(session, SubjectRepository(session, runtime.gate, runtime.keyring))
    assert manager.size(col) == N
    assert manager.memory_bytes() == N * (128 + 8)  # codes and row ids, nothing else, no spare room
    found = manager.search(col, {"tk-big": FaceTemplate("tk-big", 1024, codes[N - 3].tobytes())}, 3)
    assert found[0].score == 1.0
    with runtime.transaction() as session:
        named = SubjectRepository(session, runtime.gate, runtime.keyring).rows_by_id(
            tenant.app_id, [found[0].id], purpose=Purpose.PROVIDE_FEATURES
        )
        assert named[0][2] == f"h{N - 3}"
