"""The Hamming-distance kernel of the 1:N scan, compiled with numba.

One pass over the packed templates: XOR with the query and a population count per 64-bit word
(the SWAR sequence below, which LLVM turns into ``popcnt``), accumulated per row. Reading the
array once is the floor; this kernel runs within about 1.3x of it (benchmarks/bench_faces.py),
where a pure numpy version needs temporaries and runs at 3-4x.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@njit(nogil=True, cache=True, boundscheck=False)
def _popcount(x: np.uint64) -> np.uint64:
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return (x * _H01) >> np.uint64(56)


def hamming_distances(rows: npt.NDArray[np.uint64], n: int, query: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint16]:
    """Distances of ``query`` to the first ``n`` rows of ``rows`` (``uint64``, C-contiguous)."""
    out = np.empty(n, dtype=np.uint16)
    if n:
        histogram = np.zeros(rows.shape[1] * 64 + 1, dtype=np.int64)
        _distances_histogram(rows, n, np.ascontiguousarray(query, dtype=np.uint64), out, histogram)
    return out


@njit(nogil=True, cache=True, boundscheck=False)
def _distances_histogram(
    rows: npt.NDArray[np.uint64],
    n: int,
    query: npt.NDArray[np.uint64],
    out: npt.NDArray[np.uint16],
    histogram: npt.NDArray[np.int64],
) -> None:
    words = rows.shape[1]
    for i in range(n):
        total = np.uint64(0)
        for j in range(words):
            total += _popcount(rows[i, j] ^ query[j])
        out[i] = total
        histogram[total] += 1


@njit(nogil=True, cache=True, boundscheck=False)
def _select(distances: npt.NDArray[np.uint16], cutoff: int, found: npt.NDArray[np.int64]) -> int:
    count = 0
    for i in range(distances.shape[0]):
        if distances[i] <= cutoff and count < found.shape[0]:
            found[count] = i
            count += 1
    return count


def hamming_top_k(
    rows: npt.NDArray[np.uint64], n: int, query: npt.NDArray[np.uint64], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint16]]:
    """Indices and distances of the ``k`` nearest rows, nearest first (ties by insertion order).

    One pass computes the distances and their histogram; the histogram gives the cut-off
    distance, and a second pass over the small distance array collects the candidates.
    """
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint16)
    bits = rows.shape[1] * 64
    distances = np.empty(n, dtype=np.uint16)
    histogram = np.zeros(bits + 1, dtype=np.int64)
    _distances_histogram(rows, n, np.ascontiguousarray(query, dtype=np.uint64), distances, histogram)
    cutoff = int(np.searchsorted(np.cumsum(histogram), k))
    found = np.empty(int(histogram[: cutoff + 1].sum()), dtype=np.int64)
    count = _select(distances, cutoff, found)
    candidates = found[:count]
    order = np.argsort(distances[candidates], kind="stable")[:k]
    chosen = candidates[order]
    return chosen, distances[chosen]
