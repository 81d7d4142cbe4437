"""Encrypted index snapshots: read back with the rows and events since, keys replaced at each
rewrite, a destroyed key makes the file unreadable and the index comes from the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sealed_rows import insert_sealed

from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.search import IndexManager
from openkyc.biometrics.snapshot import MAGIC, SnapshotStore
from openkyc.biometrics.templates import FaceTemplate
from openkyc.store.models.faces import IndexEvent, Subject

N = 3_000


def _insert(runtime: Any, app_id: int, col: str, codes: np.ndarray, first: int) -> None:
    insert_sealed(runtime, app_id, col, codes, first)


def _load(runtime: Any, store: SnapshotStore | None) -> tuple[IndexManager, list[str]]:
    manager = IndexManager()
    with runtime.transaction() as session:
        fresh = manager.load(session, SubjectRepository(session, runtime.gate, runtime.keyring), store)
    return manager, fresh


def _answers(manager: IndexManager, col: str, codes: np.ndarray) -> list[list[tuple[int, float]]]:
    queries = [{"tk-s": FaceTemplate("tk-s", 1024, c.tobytes())} for c in codes]
    return [[(m.id, m.score) for m in found] for found in manager.search_many(col, queries, 5)]


def _header(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    length = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    return dict(json.loads(data[len(MAGIC) + 4 : len(MAGIC) + 4 + length]))


def test_snapshot_round_trip_events_since_and_shredding(tenant: Any, runtime: Any, tmp_path: Path) -> None:
    col = tenant.post("/v1/collections", {"name": "snap"}).json()["collection_id"]
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 256, size=(N, 128), dtype=np.uint8)
    _insert(runtime, tenant.app_id, col, codes, 0)
    store = SnapshotStore(tmp_path / "index", runtime.subject_keys, hours=1)

    manager, fresh = _load(runtime, store)
    assert fresh == [col] and manager.size(col) == N
    assert manager.write_snapshots(store, datetime.now(UTC), min_templates=N + 1) == 0  # too small
    assert manager.write_snapshots(store, datetime.now(UTC), min_templates=N) == 1
    path = store.path(col)
    raw = path.read_bytes()
    assert raw.startswith(MAGIC) and codes[17].tobytes() not in raw and codes[-1].tobytes() not in raw  # sealed
    first_key = _header(path)["key_id"]

    # after the snapshot: one subject removed (with its event), new ones enrolled (rows and events)
    with runtime.transaction() as session:
        ref = runtime.subject_keys.subject_ref(tenant.app_id, "h42")
        gone = session.query(Subject).filter_by(collection_id=col, subject_id=ref).one()
        gone_id = gone.id
        session.delete(gone)
        session.add(IndexEvent(collection_id=col, subject_row=gone_id, op="remove", created_at=datetime.now(UTC)))
    more = rng.integers(0, 256, size=(50, 128), dtype=np.uint8)
    _insert(runtime, tenant.app_id, col, more, N)

    from_snapshot, fresh = _load(runtime, store)
    from_database, _ = _load(runtime, None)
    assert fresh == []  # read from the file
    assert from_snapshot.size(col) == from_database.size(col) == N - 1 + 50
    probe = np.concatenate([codes[[0, 42, 1234, N - 1]], more[[0, 49]]])
    assert _answers(from_snapshot, col, probe) == _answers(from_database, col, probe)
    assert all(m[0] != gone_id for found in _answers(from_snapshot, col, probe) for m in found)

    # a rewrite destroys the key of the file it replaces
    assert from_snapshot.write_snapshots(store, datetime.now(UTC), min_templates=1) == 1
    assert runtime.subject_keys.key(first_key) is None
    second_key = _header(path)["key_id"]
    assert runtime.subject_keys.key(second_key) is not None

    # a destroyed (or expired and swept) key: the file cannot be read; the database is used
    runtime.subject_keys.destroy_key(second_key)
    again, fresh = _load(runtime, store)
    assert fresh == [col] and again.size(col) == N - 1 + 50
    assert _answers(again, col, probe) == _answers(from_database, col, probe)


def test_expired_snapshot_keys_are_destroyed_by_the_sweep_step(tenant: Any, runtime: Any, tmp_path: Path) -> None:
    col = tenant.post("/v1/collections", {"name": "exp"}).json()["collection_id"]
    _insert(runtime, tenant.app_id, col, np.zeros((3, 128), dtype=np.uint8), 0)
    store = SnapshotStore(tmp_path / "index", runtime.subject_keys, hours=1)
    manager, _ = _load(runtime, store)
    written_at = datetime(2026, 1, 1, tzinfo=UTC)
    manager.write_snapshots(store, written_at, min_templates=1)
    key_id = _header(store.path(col))["key_id"]
    assert runtime.subject_keys.destroy_expired(datetime(2026, 1, 1, 0, 59, tzinfo=UTC)) == 0
    assert runtime.subject_keys.key(key_id) is not None
    assert runtime.subject_keys.destroy_expired(datetime(2026, 1, 1, 1, 1, tzinfo=UTC)) >= 1
    assert runtime.subject_keys.key(key_id) is None and store.read(col) is None
