"""Memory for the large arrays of the 1:N index: each an anonymous private memory map of its own.

Why not ``np.empty`` (the C allocator)? Measured with ``benchmarks/bench_faces.py --snapshot``
(docs/benchmarks.md, "Search sizes: 1024 and 2048 bits"): glibc raises its threshold for serving a block from its
own heap to the size of the last large block freed (up to 32 MiB), so after the snapshot reader's
8 MiB buffers were freed, the next 8 MiB arrays (the row ids of a million templates, the next
read's buffers) came from the heap and stayed resident after being freed: 16.8 bytes per
template at a million for the buffers, 8 for the row ids, on top of the 136 the index holds. And
a regrowth copied the arrays, holding old and new at once (274-287 bytes per template at the peak).

A block of its own from :func:`allocate` is returned to the system whole when freed, its pages
are only resident once written (spare capacity costs address space, not memory), and
:func:`resized` grows or shrinks it in place with ``mremap`` (the kernel moves the pages, nothing
is copied, no second copy is ever resident) when nothing else holds a view of it; otherwise (a
search or a snapshot write still holding a view) it falls back to a copy, as before.
"""

from __future__ import annotations

import mmap

import numpy as np
import numpy.typing as npt

MAP_MIN_BYTES = 1 << 20  # smaller arrays come from the C allocator (np.empty)
_FLAGS = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0)

Bytes = npt.NDArray[np.uint8]


def allocate(nbytes: int) -> Bytes:
    """``nbytes`` uninitialised bytes (``uint8``); from :data:`MAP_MIN_BYTES` on, a private
    anonymous memory map of their own (freed with the last view of them)."""
    if nbytes < MAP_MIN_BYTES or not _FLAGS:
        return np.empty(nbytes, dtype=np.uint8)
    return np.frombuffer(mmap.mmap(-1, nbytes, flags=_FLAGS), dtype=np.uint8)


def own_map(array: npt.NDArray[np.generic]) -> mmap.mmap | None:
    """The memory map of :func:`allocate` that ``array`` covers whole, else None."""
    base: object = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    owner = base.obj if isinstance(base, memoryview) else None
    if isinstance(owner, mmap.mmap) and array.nbytes == len(owner) and array.flags.c_contiguous:
        return owner
    return None


def resized(box: list[npt.NDArray[np.generic]], nbytes: int, keep: int) -> Bytes:
    """The array in ``box`` (its only holder: the caller's attribute already cleared) as ``nbytes``
    bytes keeping its first ``keep``: its own memory map moved in place when no other view of it
    is alive, else a copy into a new :func:`allocate` block. On an error (out of memory) the array
    is put back in ``box``."""
    array = box.pop()
    owner = own_map(array)
    if owner is not None and nbytes >= MAP_MIN_BYTES:
        del array  # the last view here: the map may move
        try:
            owner.resize(nbytes)
            return np.frombuffer(owner, dtype=np.uint8)
        except (BufferError, OSError, SystemError, ValueError):  # a view held elsewhere: copy
            array = np.frombuffer(owner, dtype=np.uint8)
    try:
        out = allocate(nbytes)
        flat = array.reshape(-1).view(np.uint8)
        out[:keep] = flat[:keep]
    except BaseException:
        box.append(array)
        raise
    return out
