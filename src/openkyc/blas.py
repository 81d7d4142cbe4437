"""The thread count of the BLAS libraries loaded in this process (numpy's OpenBLAS and any other).

OpenBLAS starts one thread per core and hands even a 128x128 QR or a 1024x128 matrix-vector
product to them; on a busy machine the hand-over waits for a core, so a template key's first use
(its projection matrix: eight QR factorisations) took 0.1-1.3 s of wall time per QR under load
against 1.5 ms on one thread (issue 13: the first request paid it). Inference threads are set by
``OPENKYC_MODEL_THREADS`` for OpenCV and ONNX Runtime; :func:`limit_threads` applies the same
number to BLAS, as ``threadpoolctl`` would, without the dependency: every loaded shared library
whose name contains ``openblas`` that exports one of OpenBLAS's ``set_num_threads`` functions.
Elsewhere than Linux (no ``/proc/self/maps``) it does nothing.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

__all__ = ["blas_threads", "limit_threads"]

_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


def _libraries() -> list[ctypes.CDLL]:
    import numpy  # noqa: F401  - loads numpy's OpenBLAS, the one numpy's linear algebra uses

    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.rsplit("/", 1)[-1].lower()})
    found = []
    for path in paths:
        try:
            found.append(ctypes.CDLL(path))  # already loaded: this only looks up its handle
        except OSError:
            continue
    return found


def _get(library: ctypes.CDLL) -> int | None:
    for name in _GETTERS:
        getter = getattr(library, name, None)
        if getter is not None:
            getter.restype = ctypes.c_int
            return int(getter())
    return None


def limit_threads(count: int) -> int:
    """Sets every loaded OpenBLAS to ``count`` threads; returns how many libraries are at ``count``.

    A library already at ``count`` is left alone: detectors are built while other requests run, and
    OpenBLAS's setter is best not called under a running BLAS call."""
    done = 0
    for library in _libraries():
        if _get(library) == count:
            done += 1
            continue
        for name in _SETTERS:
            setter = getattr(library, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter.restype = None
                setter(int(count))
                done += 1
                break
    return done


def blas_threads() -> list[int]:
    """The thread count of each loaded OpenBLAS (tests, diagnostics)."""
    return [n for n in map(_get, _libraries()) if n is not None]
