"""1:N search: an exact Hamming scan over packed templates held in memory.

Templates are rows of ``uint64`` words; a query XORs every row and counts bits with
``np.bitwise_count``. The scan runs in blocks so the temporaries stay in cache, which keeps it
close to the cost of reading the array once (memory-bandwidth bound; see bench_faces.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openkyc.biometrics.hamming import hamming_distances, hamming_top_k
from openkyc.biometrics.templates import FaceTemplate
from openkyc.errors import TemplateMismatch


@dataclass(frozen=True, slots=True)
class Match:
    id: str
    score: float  # Hamming similarity 0-1


class TemplateIndex:
    """Templates of one key id and size. Not thread-safe for writes; searches may share it."""

    def __init__(self, key_id: str, bits: int, *, capacity: int = 1024) -> None:
        self.key_id = key_id
        self.bits = bits
        self.words = bits // 64
        self._rows = np.zeros((max(capacity, 1), self.words), dtype=np.uint64)
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}

    @classmethod
    def build(cls, key_id: str, bits: int, items: Iterable[tuple[str, bytes]]) -> TemplateIndex:
        """From (id, serialised template) pairs, e.g. rows read from the database."""
        index = cls(key_id, bits)
        for item_id, blob in items:
            index.add(item_id, FaceTemplate.from_bytes(blob))
        return index

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._pos

    def _check(self, template: FaceTemplate) -> npt.NDArray[np.uint64]:
        if template.key_id != self.key_id or template.bits != self.bits:
            raise TemplateMismatch()
        return template.words()

    def add(self, item_id: str, template: FaceTemplate) -> None:
        """Add or replace ``item_id``."""
        words = self._check(template)
        if item_id in self._pos:
            self._rows[self._pos[item_id]] = words
            return
        n = len(self._ids)
        if n == self._rows.shape[0]:
            grown = np.zeros((n * 2, self.words), dtype=np.uint64)
            grown[:n] = self._rows[:n]
            self._rows = grown
        self._rows[n] = words
        self._ids.append(item_id)
        self._pos[item_id] = n

    def add_words(self, ids: list[str], rows: npt.NDArray[np.uint64]) -> None:
        """Bulk add of already-packed rows (benchmarks, rebuilds)."""
        n, m = len(self._ids), len(ids)
        if n + m > self._rows.shape[0]:
            grown = np.zeros((n + m, self.words), dtype=np.uint64)
            grown[:n] = self._rows[:n]
            self._rows = grown
        self._rows[n : n + m] = rows
        for offset, item_id in enumerate(ids):
            self._pos[item_id] = n + offset
        self._ids.extend(ids)

    def remove(self, item_id: str) -> bool:
        """Remove ``item_id`` (swap with the last row); False when absent."""
        pos = self._pos.pop(item_id, None)
        if pos is None:
            return False
        last = len(self._ids) - 1
        if pos != last:
            self._rows[pos] = self._rows[last]
            moved = self._ids[last]
            self._ids[pos] = moved
            self._pos[moved] = pos
        self._ids.pop()
        return True

    def distances(self, query: FaceTemplate) -> npt.NDArray[np.uint16]:
        """Hamming distance of ``query`` to every stored row, in insertion order."""
        return hamming_distances(self._rows, len(self._ids), self._check(query))

    def search(self, query: FaceTemplate, top_k: int = 5) -> list[Match]:
        """The ``top_k`` closest templates, best first."""
        n = len(self._ids)
        if n == 0 or top_k <= 0:
            return []
        best, dist = hamming_top_k(self._rows, n, self._check(query), top_k)
        return [Match(self._ids[i], 1.0 - float(d) / self.bits) for i, d in zip(best, dist, strict=True)]

    def duplicates(self, query: FaceTemplate, min_score: float) -> list[Match]:
        """Every stored template at least ``min_score`` similar (duplicate-enrolment check)."""
        dist = self.distances(query)
        hits = np.flatnonzero(dist <= (1.0 - min_score) * self.bits)
        hits = hits[np.argsort(dist[hits], kind="stable")]
        return [Match(self._ids[i], 1.0 - float(dist[i]) / self.bits) for i in hits]

    @property
    def nbytes(self) -> int:
        return len(self._ids) * self.words * 8
