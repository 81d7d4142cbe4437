"""The Hamming-distance kernel of the 1:N scan, compiled with numba.

One pass over the packed templates: XOR with the query and a population count per 64-bit word
(the SWAR sequence below, which LLVM turns into ``popcnt``), summed per row; for 1024-bit
templates the 16 words of a row are unrolled. A histogram of the distances (at most ``bits + 1``
values) then gives the cut-off distance of the ``k`` nearest, and a pass over the small distance
array collects them, all inside one compiled call. Reading the array once is the floor; this
kernel runs within about 1.2-1.5x of it (benchmarks/bench_faces.py), where a pure numpy version
needs temporaries and ran at 3-4x.
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


@njit(nogil=True, cache=True, boundscheck=False)
def _distances(rows: npt.NDArray[np.uint64], n: int, q: npt.NDArray[np.uint64], out: npt.NDArray[np.uint16]) -> None:
    words = rows.shape[1]
    if words == 16:  # 1024-bit templates, the default: unrolled
        q0, q1, q2, q3, q4, q5, q6, q7 = q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]
        q8, q9, q10, q11, q12, q13, q14, q15 = q[8], q[9], q[10], q[11], q[12], q[13], q[14], q[15]
        for i in range(n):
            r = rows[i]
            out[i] = (
                _popcount(r[0] ^ q0) + _popcount(r[1] ^ q1) + _popcount(r[2] ^ q2) + _popcount(r[3] ^ q3)
                + _popcount(r[4] ^ q4) + _popcount(r[5] ^ q5) + _popcount(r[6] ^ q6) + _popcount(r[7] ^ q7)
                + _popcount(r[8] ^ q8) + _popcount(r[9] ^ q9) + _popcount(r[10] ^ q10) + _popcount(r[11] ^ q11)
                + _popcount(r[12] ^ q12) + _popcount(r[13] ^ q13) + _popcount(r[14] ^ q14) + _popcount(r[15] ^ q15)
            )  # fmt: skip
        return
    for i in range(n):
        total = np.uint64(0)
        for j in range(words):
            total += _popcount(rows[i, j] ^ q[j])
        out[i] = total


@njit(nogil=True, cache=True, boundscheck=False)
def _top_k(
    rows: npt.NDArray[np.uint64], n: int, q: npt.NDArray[np.uint64], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint16]]:
    distances = np.empty(n, dtype=np.uint16)
    _distances(rows, n, q, distances)
    histogram = np.zeros(rows.shape[1] * 64 + 1, dtype=np.int64)
    for i in range(n):
        histogram[distances[i]] += 1
    cutoff, seen = 0, histogram[0]
    while seen < k:
        cutoff += 1
        seen += histogram[cutoff]
    found = np.empty(seen, dtype=np.int64)
    count = 0
    for i in range(n):
        if distances[i] <= cutoff:
            found[count] = i
            count += 1
    order = np.argsort(distances[found], kind="mergesort")[:k]  # stable: ties by insertion order
    chosen = found[order]
    return chosen, distances[chosen]


def hamming_distances(rows: npt.NDArray[np.uint64], n: int, query: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint16]:
    """Distances of ``query`` to the first ``n`` rows of ``rows`` (``uint64``, C-contiguous)."""
    out = np.empty(n, dtype=np.uint16)
    if n:
        _distances(rows, n, np.ascontiguousarray(query, dtype=np.uint64), out)
    return out


def hamming_top_k(
    rows: npt.NDArray[np.uint64], n: int, query: npt.NDArray[np.uint64], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint16]]:
    """Indices and distances of the ``k`` nearest rows, nearest first (ties by insertion order)."""
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint16)
    chosen, distances = _top_k(rows, n, np.ascontiguousarray(query, dtype=np.uint64), k)
    return chosen, distances
