"""Snapshot files read back chunk by chunk on several threads: every chunk size reads back to the
same arrays (files written with the older 64 MiB chunks too), and a damaged or cut file is ignored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from openkyc.biometrics import snapshot
from openkyc.biometrics.index import TemplateIndex
from openkyc.privacy.crypto import MasterKey, new_key
from openkyc.store.subject_keys import SubjectKeys


@pytest.fixture
def store(tmp_path: Path) -> Iterator[snapshot.SnapshotStore]:
    keys = SubjectKeys.open(f"sqlite:///{tmp_path}/keys.db", MasterKey(new_key()))
    yield snapshot.SnapshotStore(tmp_path / "index", keys, hours=1)
    keys.close()


def _indexes() -> list[TemplateIndex]:
    rng = np.random.default_rng(3)
    out = []
    for key_id, bits, n in (("tk-a", 1024, 5_001), ("tk-b", 2048, 777), ("tk-c", 1024, 0)):
        index = TemplateIndex(key_id, bits)
        rows = rng.permutation(np.arange(10, 10 + 3 * n, 3, dtype=np.int64))
        index.add_codes(rows, rng.integers(0, 256, size=(n, bits // 8), dtype=np.uint8))
        out.append(index)
    return out


@pytest.mark.parametrize("chunk", [4_096, 100_003, 64 * 1024 * 1024])
@pytest.mark.parametrize("threads", [1, 3])
def test_any_chunk_size_reads_back_the_same_arrays(
    store: snapshot.SnapshotStore, monkeypatch: pytest.MonkeyPatch, chunk: int, threads: int
) -> None:
    indexes = _indexes()
    monkeypatch.setattr(snapshot, "CHUNK", chunk)
    store.write("col-x", 7, indexes, watermark=99, last_event=5, now=datetime.now(UTC))
    monkeypatch.setattr(snapshot, "CHUNK", 8 * 1024 * 1024)  # the reader never needs the writer's size
    monkeypatch.setattr(snapshot, "READ_THREADS", threads)
    read = store.read("col-x")
    assert read is not None and (read.app_id, read.watermark, read.last_event) == (7, 99, 5)
    assert [(i.key_id, i.bits, len(i)) for i in read.indexes] == [(i.key_id, i.bits, len(i)) for i in indexes]
    for got, want in zip(read.indexes, indexes, strict=True):
        assert np.array_equal(got.codes, want.codes) and np.array_equal(got.row_ids, want.row_ids)
        assert got.memory_bytes == want.codes.nbytes + want.row_ids.nbytes  # held once, no spare copy
    query = indexes[0].codes[1234]
    assert read.indexes[0].search_codes(query[None, :], 3)[0][0].id == int(indexes[0].row_ids[1234])


@pytest.mark.parametrize("damage", ["flip", "cut"])
def test_a_damaged_or_cut_snapshot_is_ignored(
    store: snapshot.SnapshotStore, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    monkeypatch.setattr(snapshot, "CHUNK", 4_096)
    monkeypatch.setattr(snapshot, "READ_THREADS", 2)
    path = store.write("col-y", 7, _indexes(), watermark=1, last_event=0, now=datetime.now(UTC))
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01  # inside some chunk in the middle: its tag fails
    else:
        del data[-5_000:]
    path.write_bytes(bytes(data))
    assert store.read("col-y") is None


def test_rows_added_after_a_snapshot_read_keep_memory_bounded(
    store: snapshot.SnapshotStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot read back holds its arrays exactly; enrolments after it (one row at a time, as
    each sync adds them) regrow them by at most 1/16 or GROW_ROWS once large: at most 145 bytes per
    1024-bit template (136 + spare) at 1M, and every added row is found by search."""
    from openkyc.biometrics import index as index_module
    from openkyc.biometrics.templates import FaceTemplate

    monkeypatch.setattr(index_module, "GROW_ROWS", 1_024)  # the large-index policy at a test's size
    n, added = 100_000, 3_000
    rng = np.random.default_rng(5)
    full = TemplateIndex("tk-a", 1024)
    full.add_codes(np.arange(1, n + 1, dtype=np.int64), rng.integers(0, 256, size=(n, 128), dtype=np.uint8))
    store.write("col-grow", 1, [full], watermark=n, last_event=0, now=datetime.now(UTC))
    read = store.read("col-grow")
    assert read is not None
    index = read.indexes[0]
    assert index.memory_bytes == n * 136  # adopted exactly
    new = rng.integers(0, 256, size=(added, 128), dtype=np.uint8)
    peak = 0
    for i in range(added):
        index.add_codes(np.array([n + 1 + i], dtype=np.int64), new[i : i + 1])
        peak = max(peak, index.memory_bytes)
    assert len(index) == n + added
    assert peak <= (n + added) * 136 * (1 + 1 / 16) + 136 * 1_024  # 25 % spare would be 170 bytes
    assert index.memory_bytes / len(index) < 145
    for i in (0, added // 2, added - 1):
        best = index.search(FaceTemplate("tk-a", 1024, new[i].tobytes()), 1)[0]
        assert best.id == n + 1 + i and best.score == 1.0
    assert index_module.grown_capacity(10_000_000, 10_000_001) == 10_625_000  # 1/16 at 10M
    assert index_module.grown_capacity(1_000, 1_001) == 1_250  # a quarter while small
