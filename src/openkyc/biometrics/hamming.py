"""Exact Hamming k-nearest search over packed binary codes, on faiss's kernels (faiss-cpu).

Codes are C-contiguous ``uint8`` rows of ``bits / 8`` bytes (any multiple of 64 bits). The scan
is faiss's ``hammings_knn_hc`` (a popcount per 64-bit word, a bounded heap per query), run on the
caller's own array: no copy into a faiss index, so the caller keeps exactly one byte per code byte
and can remove a row by moving the last one into its place.

Why faiss rather than the numba kernel this module held before: faiss is compiled ahead of time,
so every process runs the same machine code from its first call (numba's on-disk cache made a
later process 6x slower than the one that compiled, and the first process paid the compilation),
and its per-query speed was on par with the freshly compiled numba kernel (docs/biometrics.md,
"Search", and benchmarks/bench_faces.py).

Threads: faiss's own OpenMP threads are set to 1; :func:`top_k` splits the rows into ``threads``
contiguous shards and scans them in a small thread pool (faiss releases the GIL), then merges the
shards' top ``k``. One query and a batch of queries take the same path.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import faiss
import numpy as np
import numpy.typing as npt

Codes = npt.NDArray[np.uint8]

MIN_SHARD_ROWS = 32_768  # below this a second thread costs more than it saves

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
faiss.omp_set_num_threads(1)


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < threads:
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="openkyc-search")
            _pool_size = threads
        return _pool


def _knn(queries: Codes, codes: Codes, k: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    distances, labels = faiss.knn_hamming(queries, codes, k)
    return distances.astype(np.int32, copy=False), labels.astype(np.int64, copy=False)


def top_k(
    codes: Codes, queries: Codes, k: int, *, threads: int = 1
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Distances and row numbers of the ``k`` nearest rows for each query, nearest first.

    ``codes`` is ``(n, nbytes)``, ``queries`` ``(q, nbytes)``, both ``uint8``. Returns two
    ``(q, min(k, n))`` arrays; ties are ordered by row number.
    """
    n = codes.shape[0]
    k = min(k, n)
    if queries.ndim != 2 or queries.shape[1] != codes.shape[1]:
        raise ValueError("queries and codes must have the same code size")
    if k <= 0 or queries.shape[0] == 0:
        empty = (queries.shape[0], 0)
        return np.empty(empty, dtype=np.int32), np.empty(empty, dtype=np.int64)
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    queries = np.ascontiguousarray(queries, dtype=np.uint8)
    shards = max(1, min(threads, n // MIN_SHARD_ROWS))
    if shards == 1:
        distances, labels = _knn(queries, codes, k)
    else:
        bounds = np.linspace(0, n, shards + 1).astype(np.int64)
        pool = _executor(shards)
        futures = [
            pool.submit(_knn, queries, codes[lo:hi], min(k, int(hi - lo))) for lo, hi in itertools.pairwise(bounds)
        ]
        parts = [f.result() for f in futures]
        distances = np.concatenate([d for d, _ in parts], axis=1)
        labels = np.concatenate([lab + lo for (_, lab), lo in zip(parts, bounds[:-1], strict=True)], axis=1)
    # deterministic order: by distance, then row number
    order = np.lexsort((labels, distances), axis=1)[:, :k]
    return np.take_along_axis(distances, order, axis=1), np.take_along_axis(labels, order, axis=1)


def distances(codes: Codes, query: Codes) -> npt.NDArray[np.int32]:
    """Hamming distance of one ``query`` (``nbytes`` bytes) to every row of ``codes``."""
    n = codes.shape[0]
    out = np.empty(n, dtype=np.int32)
    if n:
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        q = np.ascontiguousarray(query, dtype=np.uint8).reshape(1, -1)
        if q.shape[1] != codes.shape[1]:
            raise ValueError("query and codes must have the same code size")
        faiss.hammings(  # type: ignore[attr-defined]
            faiss.swig_ptr(q), faiss.swig_ptr(codes), 1, n, codes.shape[1], faiss.swig_ptr(out)
        )
    return out
