"""One 1:N index: the packed templates of one collection and template key, held in memory.

Memory is the codes themselves plus one ``int64`` row id per template (``bits / 8 + 8`` bytes, 136
for 1024-bit templates), none spare after a bulk load or a snapshot read, and after single
additions a quarter spare in small indexes but at most 65,536 rows (or 1/16) spare in large ones,
so an index of millions stays under 145 bytes per template however it grew (:data:`GROW_ROWS`).
The large arrays are memory maps of their own (:mod:`openkyc.biometrics.mapped`): spare rows take
no memory until written, a regrowth moves the pages in place instead of copying (never two copies
resident), and freeing returns them to the system. Row ids are the database's ``subjects.id``; the subject ids the answers name
are read from the database for the few rows a search returns, so no personal data and no Python
object per template is kept in memory.

Removal moves the last row into the freed place (O(1) after finding the row). Finding a row is a
vectorised scan of the row ids (about 1 ms per million); additions of rows newer than every row
held skip it. The width comes from the templates (any multiple of 64 bits), never assumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from openkyc.biometrics import hamming, mapped
from openkyc.biometrics.templates import FaceTemplate
from openkyc.errors import TemplateMismatch

_NO_CODES: npt.NDArray[np.uint8] = np.empty((0, 0), dtype=np.uint8)
_NO_ROWS: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
GROW_ROWS = 1 << 16  # spare rows added at most per regrowth of a large index (or 1/16 of it)


def grown_capacity(capacity: int, need: int) -> int:
    """The capacity to regrow to: a quarter more while that is under :data:`GROW_ROWS` rows (few
    copies while small), then :data:`GROW_ROWS` or 1/16 more, whichever is larger (bounded spare
    memory at scale: 6.25 % at 1M and 10M, copies amortised over 65,536 additions or more)."""
    extra = min(capacity // 4, max(capacity // 16, GROW_ROWS))
    return max(need, capacity + extra, 64)


@dataclass(frozen=True, slots=True)
class Match:
    id: int  # the row id given at addition (``subjects.id``)
    score: float  # Hamming similarity 0-1


class TemplateIndex:
    """Templates of one key id and size. Writers must be serialised; searches may share it with
    each other (the caller's lock keeps writes and searches apart)."""

    def __init__(self, key_id: str, bits: int, *, capacity: int = 0) -> None:
        if bits <= 0 or bits % 64:
            raise ValueError("bits must be a positive multiple of 64")
        self.key_id = key_id
        self.bits = bits
        self.nbytes = bits // 8
        self._codes = mapped.allocate(capacity * self.nbytes).reshape(capacity, self.nbytes)
        self._rows = mapped.allocate(capacity * 8).view(np.int64)
        self._n = 0
        self._max_row = -1

    def __repr__(self) -> str:
        return f"TemplateIndex(key_id={self.key_id!r}, bits={self.bits}, size={self._n})"

    @classmethod
    def build(cls, key_id: str, bits: int, items: Iterable[tuple[int, bytes]]) -> TemplateIndex:
        """From (row id, serialised template) pairs."""
        index = cls(key_id, bits)
        for row_id, blob in items:
            index.add(row_id, FaceTemplate.from_bytes(blob))
        return index

    @classmethod
    def adopt(
        cls, key_id: str, bits: int, row_ids: npt.NDArray[np.int64], codes: npt.NDArray[np.uint8]
    ) -> TemplateIndex:
        """An index over these arrays themselves (no copy: a snapshot read back)."""
        index = cls(key_id, bits)
        if codes.shape != (len(row_ids), index.nbytes) or codes.dtype != np.uint8 or row_ids.dtype != np.int64:
            raise TemplateMismatch()
        index._codes, index._rows, index._n = codes, row_ids, len(row_ids)
        index._max_row = int(row_ids.max()) if len(row_ids) else -1
        return index

    def __len__(self) -> int:
        return self._n

    def __contains__(self, row_id: object) -> bool:
        return isinstance(row_id, int) and self._find(row_id) is not None

    @property
    def codes(self) -> npt.NDArray[np.uint8]:
        """The live codes, ``(len, bits / 8)`` (a view: read only)."""
        return self._codes[: self._n]

    @property
    def row_ids(self) -> npt.NDArray[np.int64]:
        return self._rows[: self._n]

    @property
    def memory_bytes(self) -> int:
        """Bytes held, spare capacity included."""
        return int(self._codes.nbytes + self._rows.nbytes)

    def _check(self, template: FaceTemplate) -> npt.NDArray[np.uint8]:
        if template.key_id != self.key_id or template.bits != self.bits:
            raise TemplateMismatch()
        return np.frombuffer(template.data, dtype=np.uint8)

    def _find(self, row_id: int) -> int | None:
        if row_id > self._max_row:
            return None
        hits = np.flatnonzero(self._rows[: self._n] == row_id)
        return int(hits[0]) if hits.size else None

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        capacity = min(self._codes.shape[0], self._rows.shape[0])
        if need <= capacity:
            return
        self._resize(grown_capacity(capacity, need))

    def _resize(self, capacity: int) -> None:
        """Codes and row ids to ``capacity`` rows, keeping the live ones: moved in place when they
        are memory maps of their own (:mod:`openkyc.biometrics.mapped`: no copy, never two copies
        resident), else copied. Out of memory: what was not resized stays as it was."""
        codes: list[Any] = [self._codes]
        rows: list[Any] = [self._rows]
        self._codes, self._rows = _NO_CODES, _NO_ROWS  # this index's own views released
        try:
            self._codes = mapped.resized(codes, capacity * self.nbytes, self._n * self.nbytes).reshape(
                capacity, self.nbytes
            )
            self._rows = mapped.resized(rows, capacity * 8, self._n * 8).view(np.int64)
        finally:
            if codes:  # put back by ``resized`` when it failed
                self._codes = codes[0]
            if rows:
                self._rows = rows[0]

    def add(self, row_id: int, template: FaceTemplate) -> None:
        """Add or replace ``row_id``."""
        code = self._check(template)
        pos = self._find(row_id)
        if pos is not None:
            self._codes[pos] = code
            return
        self._reserve(1)
        self._codes[self._n] = code
        self._rows[self._n] = row_id
        self._n += 1
        self._max_row = max(self._max_row, row_id)

    def add_codes(self, row_ids: npt.NDArray[np.int64], codes: npt.NDArray[np.uint8]) -> None:
        """Bulk add of already-packed codes of rows not held yet (loading, benchmarks)."""
        m = len(row_ids)
        if codes.shape != (m, self.nbytes):
            raise TemplateMismatch()
        if not m:
            return
        self._reserve(m)
        self._codes[self._n : self._n + m] = codes
        self._rows[self._n : self._n + m] = row_ids
        self._n += m
        self._max_row = max(self._max_row, int(np.max(row_ids)))

    def remove(self, row_id: int) -> bool:
        """Remove ``row_id`` (the last row takes its place); False when absent."""
        pos = self._find(row_id)
        if pos is None:
            return False
        last = self._n - 1
        if pos != last:
            self._codes[pos] = self._codes[last]
            self._rows[pos] = self._rows[last]
        self._n = last
        return True

    def remove_many(self, row_ids: Iterable[int]) -> int:
        """Remove every held row of ``row_ids`` with one scan; the number removed."""
        wanted = np.fromiter(row_ids, dtype=np.int64)
        if not wanted.size or not self._n:
            return 0
        positions = np.flatnonzero(np.isin(self._rows[: self._n], wanted))
        for pos in sorted(positions.tolist(), reverse=True):  # from the end: moved rows are kept rows
            last = self._n - 1
            if pos != last:
                self._codes[pos] = self._codes[last]
                self._rows[pos] = self._rows[last]
            self._n = last
        return int(positions.size)

    def compact(self) -> None:
        """Drop spare capacity (after a load or many removals): in place for memory maps."""
        if self._codes.shape[0] != self._n:
            self._resize(self._n)

    def search_codes(self, queries: npt.NDArray[np.uint8], top_k: int, *, threads: int = 1) -> list[list[Match]]:
        """The ``top_k`` closest rows for each query code (``(q, bits / 8)``), best first."""
        if self._n == 0 or top_k <= 0:
            return [[] for _ in range(len(queries))]
        dist, pos = hamming.top_k(self.codes, queries, top_k, threads=threads)
        rows = self._rows[pos]
        return [
            [Match(int(r), 1.0 - float(d) / self.bits) for r, d in zip(rrow, drow, strict=True)]
            for rrow, drow in zip(rows, dist, strict=True)
        ]

    def search(self, query: FaceTemplate, top_k: int = 5, *, threads: int = 1) -> list[Match]:
        """The ``top_k`` closest templates, best first."""
        return self.search_codes(self._check(query).reshape(1, -1), top_k, threads=threads)[0]

    def search_many(self, queries: list[FaceTemplate], top_k: int = 5, *, threads: int = 1) -> list[list[Match]]:
        """One scan of the codes for several queries (batch search, bulk duplicate checks)."""
        if not queries:
            return []
        return self.search_codes(np.stack([self._check(q) for q in queries]), top_k, threads=threads)

    def distances(self, query: FaceTemplate) -> npt.NDArray[np.int32]:
        """Hamming distance of ``query`` to every held row, in storage order."""
        return hamming.distances(self.codes, self._check(query))

    def duplicates(self, query: FaceTemplate, min_score: float) -> list[Match]:
        """Every held template at least ``min_score`` similar, best first."""
        dist = self.distances(query)
        hits = np.flatnonzero(dist <= (1.0 - min_score) * self.bits)
        hits = hits[np.lexsort((self._rows[hits], dist[hits]))]
        return [Match(int(self._rows[i]), 1.0 - float(dist[i]) / self.bits) for i in hits]
