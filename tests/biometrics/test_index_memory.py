"""The 1:N index's large arrays are memory maps of their own, grown and shrunk in place (no copy,
never two copies resident), with a copy only while another view of them is alive.

The bytes per template these buy are measured by ``benchmarks/bench_faces.py --snapshot N
--snapshot-adds M`` (docs/benchmarks.md); here the mechanism itself is checked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from openkyc.biometrics import mapped
from openkyc.biometrics import snapshot as snapshots
from openkyc.biometrics.index import TemplateIndex
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.crypto import MasterKey, new_key
from openkyc.store.subject_keys import SubjectKeys

BITS = 1024


def _codes(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, BITS // 8), dtype=np.uint8)


def test_small_arrays_use_the_allocator_large_ones_a_map_of_their_own() -> None:
    small = mapped.allocate(mapped.MAP_MIN_BYTES - 1)
    large = mapped.allocate(mapped.MAP_MIN_BYTES)
    assert mapped.own_map(small) is None
    owner = mapped.own_map(large)
    assert owner is not None and len(owner) == mapped.MAP_MIN_BYTES
    assert mapped.own_map(large[:-1]) is None  # a part of a map is not the map
    assert mapped.own_map(large.view(np.int64).reshape(-1, 16)) is owner  # a whole view is


def test_resized_moves_a_map_in_place_and_copies_while_a_view_is_held() -> None:
    array = mapped.allocate(2 * mapped.MAP_MIN_BYTES)
    array[:] = np.arange(len(array)) % 251
    want = array.copy()
    owner = mapped.own_map(array)
    box = [array]
    del array
    grown = mapped.resized(box, 3 * mapped.MAP_MIN_BYTES, len(want))
    assert mapped.own_map(grown) is owner  # the same map, moved by the kernel
    assert np.array_equal(grown[: len(want)], want) and len(grown) == 3 * mapped.MAP_MIN_BYTES

    held = grown[:10]  # e.g. a search's view: the map cannot move under it
    box = [grown]
    del grown
    copied = mapped.resized(box, 4 * mapped.MAP_MIN_BYTES, len(want))
    assert mapped.own_map(copied) is not owner and np.array_equal(copied[: len(want)], want)
    assert np.array_equal(held, want[:10])  # the held view still reads the old bytes

    shrunk = mapped.resized([copied], 10, 10)  # below the map size: a small copy
    assert mapped.own_map(shrunk) is None and np.array_equal(shrunk, want[:10])


def test_an_index_grows_in_place_and_answers_the_same() -> None:
    n = 140_000  # 17.9 MB of codes, 1.1 MB of row ids: maps
    index = TemplateIndex("k", BITS)
    index.add_codes(np.arange(n, dtype=np.int64), _codes(n))
    codes_map, rows_map = mapped.own_map(index._codes), mapped.own_map(index._rows)
    assert codes_map is not None and rows_map is not None
    extra = _codes(50, seed=1)
    for i, code in enumerate(extra):  # regrowths of single additions: the same maps, moved
        index.add(n + i, FaceTemplate("k", BITS, code.tobytes()))
    assert mapped.own_map(index._codes) is codes_map and mapped.own_map(index._rows) is rows_map
    assert index.memory_bytes > len(index) * 136  # spare room (address space until written)
    index.compact()
    assert index.memory_bytes == len(index) * 136 and mapped.own_map(index._codes) is codes_map
    probe = FaceTemplate("k", BITS, extra[7].tobytes())
    assert index.search(probe, 1)[0].id == n + 7 and index.search(probe, 1)[0].score == 1.0


def test_a_view_held_during_a_regrowth_keeps_its_bytes_and_the_index_stays_right() -> None:
    n = 10_000
    codes = _codes(n + 1)
    index = TemplateIndex("k", BITS)
    index.add_codes(np.arange(n, dtype=np.int64), codes[:n])
    index.compact()
    held = index.codes  # as a search holds it while it scans
    index.add(n, FaceTemplate("k", BITS, codes[n].tobytes()))  # no spare room: a copy, not a move
    assert np.array_equal(held, codes[:n])
    assert np.array_equal(index.codes, codes) and index.row_ids.tolist() == list(range(n + 1))


@pytest.mark.parametrize("chunk", [snapshots.CHUNK, 1 << 20])
def test_a_snapshot_reads_into_maps_the_index_then_grows_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(snapshots, "CHUNK", chunk)
    n = 140_000  # row ids over 1 MiB: maps too
    original = TemplateIndex("k", BITS)
    original.add_codes(np.arange(1, n + 1, dtype=np.int64), _codes(n))
    keys = SubjectKeys.open(f"sqlite:///{tmp_path}/keys.db", MasterKey(new_key()))
    try:
        store = snapshots.SnapshotStore(tmp_path / "index", keys, hours=1)
        store.write("col", 1, [original], watermark=n, last_event=0, now=datetime.now(UTC))
        read = store.read("col")
        assert read is not None
        index = read.indexes[0]
        codes_map = mapped.own_map(index._codes)
        assert codes_map is not None and mapped.own_map(index._rows) is not None
        index.add(n + 1, FaceTemplate("k", BITS, _codes(1, seed=5)[0].tobytes()))
        assert mapped.own_map(index._codes) is codes_map  # adopted, then grown without a copy
        assert np.array_equal(index.codes[:n], original.codes) and index.row_ids[-1] == n + 1
    finally:
        keys.close()
