"""The Hamming kernel (faiss) agrees with a plain numpy computation, on one thread and on shards."""

from __future__ import annotations

import numpy as np
import pytest

from openkyc.biometrics import hamming


def _expected(codes: np.ndarray, queries: np.ndarray) -> np.ndarray:
    return np.bitwise_count(codes[None, :, :] ^ queries[:, None, :]).sum(axis=2)


@pytest.mark.parametrize(
    ("n", "nbytes", "k", "threads"),
    [(1, 128, 1, 1), (50, 128, 5, 1), (1000, 128, 10, 1), (300, 64, 300, 1), (7, 256, 20, 1),
     (70_000, 128, 10, 2), (70_000, 512, 3, 3), (40_000, 136, 7, 2)],
)  # fmt: skip
def test_top_k_matches_numpy(n: int, nbytes: int, k: int, threads: int) -> None:
    rng = np.random.default_rng(n * nbytes + k)
    codes = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    queries = codes[[n // 2, n - 1]].copy()
    queries[0, 0] ^= 0b1011  # 3 bits from one row, so the top hit is known
    expected = _expected(codes, queries)
    dist, rows = hamming.top_k(codes, queries, k, threads=threads)
    assert dist.shape == rows.shape == (2, min(k, n))
    for q in range(2):
        order = np.lexsort((np.arange(n), expected[q]))[: min(k, n)]
        assert np.array_equal(dist[q], expected[q][order])
        assert np.array_equal(expected[q][rows[q]], dist[q])  # the rows named have those distances
    assert rows[0, 0] == n // 2 and dist[0, 0] == 3
    assert np.array_equal(hamming.distances(codes, queries[0]), expected[0])


def test_empty_and_zero_k() -> None:
    codes = np.zeros((4, 128), dtype=np.uint8)
    assert hamming.top_k(codes[:0], codes[:1], 5)[0].shape == (1, 0)
    assert hamming.top_k(codes, codes[:1], 0)[1].shape == (1, 0)
    assert hamming.distances(codes[:0], codes[0]).size == 0


def test_ties_are_ordered_by_row() -> None:
    codes = np.zeros((6, 128), dtype=np.uint8)
    dist, rows = hamming.top_k(codes, codes[:1], 3)
    assert rows[0].tolist() == [0, 1, 2] and dist[0].tolist() == [0, 0, 0]


def test_code_size_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="code size"):
        hamming.top_k(np.zeros((4, 128), dtype=np.uint8), np.zeros((1, 64), dtype=np.uint8), 1)
