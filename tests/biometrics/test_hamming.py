"""The compiled Hamming kernel agrees with a plain numpy computation."""

from __future__ import annotations

import numpy as np
import pytest

from openkyc.biometrics.hamming import hamming_distances, hamming_top_k


@pytest.mark.parametrize(("n", "words", "k"), [(1, 16, 1), (50, 16, 5), (1000, 16, 10), (300, 8, 300), (7, 32, 20)])
def test_kernel_matches_numpy(n: int, words: int, k: int) -> None:
    rng = np.random.default_rng(n * words + k)
    rows = rng.integers(0, np.iinfo(np.uint64).max, size=(n + 5, words), dtype=np.uint64, endpoint=True)
    query = rows[n // 2].copy()
    query[0] ^= np.uint64(0b1011)  # 3 bits from one row, so the top hit is known
    expected = np.bitwise_count(rows[:n] ^ query).sum(axis=1)
    assert np.array_equal(hamming_distances(rows, n, query), expected)
    best, dist = hamming_top_k(rows, n, query, k)
    order = np.argsort(expected, kind="stable")[: min(k, n)]
    assert np.array_equal(dist, expected[order])
    assert best[0] == n // 2 and dist[0] == 3
    assert len(best) == min(k, n)


def test_empty_and_zero_k() -> None:
    rows = np.zeros((4, 16), dtype=np.uint64)
    assert hamming_distances(rows, 0, rows[0]).size == 0
    assert hamming_top_k(rows, 4, rows[0], 0)[0].size == 0


def test_ties_keep_insertion_order() -> None:
    rows = np.zeros((6, 16), dtype=np.uint64)
    best, dist = hamming_top_k(rows, 6, rows[0], 3)
    assert list(best) == [0, 1, 2] and list(dist) == [0, 0, 0]
