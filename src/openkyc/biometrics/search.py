"""The process-wide 1:N index: built from the database at start-up, kept current from it.

Every enrolment and removal appends an ``index_events`` row in the same transaction. Before each
search (and after each local write) the process replays the events it has not seen yet, so several
API processes sharing one database converge without talking to each other.

Loading reads each collection through :meth:`SubjectRepository.iter_templates` (keyset pages of
row ids and templates: no ``IN (...)`` over every row, any number of subjects) and packs each page
with numpy. Replaying events is order-free: every row an event names is dropped from memory and
put back with its current template if the database still holds it, so an add, a re-issued template
and a removal of one row converge whatever order their events arrive in.

Searches share the index (a readers-writer lock: several scans at once, writes alone); the scan
itself is :mod:`openkyc.biometrics.hamming` (faiss's kernel, ``threads`` shards per scan).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openkyc.biometrics.index import Match, TemplateIndex
from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.snapshot import SnapshotStore
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.faces import Collection, IndexEvent

LOOK_BACK = 256
CHUNK = 10_000
FETCH_BY_ID = 1_000  # rows re-read by id per query (re-issued templates): a bounded ``IN``


class _RWLock:
    """Many readers or one writer; a waiting writer stops new readers (no writer starvation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def split_templates(chunk: list[tuple[int, bytes]]) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """``(row id, serialised template)`` pairs → ``{(key id, bits): (row ids, codes)}``.

    The common page (one key, one size) is parsed once and sliced as one array; a mixed page
    falls back to one parse per template. A malformed template raises ``TemplateMalformed``.
    """
    if not chunk:
        return {}
    first = FaceTemplate.from_bytes(chunk[0][1])
    size = len(chunk[0][1])
    head = size - first.bits // 8
    if all(len(blob) == size for _, blob in chunk):
        buf = np.frombuffer(b"".join(blob for _, blob in chunk), dtype=np.uint8).reshape(len(chunk), size)
        if bool((buf[:, :head] == buf[0, :head]).all()):
            rows = np.fromiter((rid for rid, _ in chunk), dtype=np.int64, count=len(chunk))
            return {(first.key_id, first.bits): (rows, buf[:, head:])}
    groups: dict[tuple[str, int], tuple[list[int], list[bytes]]] = defaultdict(lambda: ([], []))
    for rid, blob in chunk:
        template = FaceTemplate.from_bytes(blob)
        ids, codes = groups[(template.key_id, template.bits)]
        ids.append(rid)
        codes.append(template.data)
    return {
        key: (
            np.asarray(ids, dtype=np.int64),
            np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(len(ids), key[1] // 8),
        )
        for key, (ids, codes) in groups.items()
    }


@dataclass
class _CollectionIndex:
    app_id: int
    by_key: dict[str, TemplateIndex] = field(default_factory=dict)
    watermark: int = 0  # every row id up to here has been read from the database

    def add_chunk(self, chunk: list[tuple[int, bytes]]) -> None:
        for (key_id, bits), (rows, codes) in split_templates(chunk).items():
            index = self.by_key.get(key_id)
            if index is None:
                index = self.by_key[key_id] = TemplateIndex(key_id, bits)
            index.add_codes(rows, codes)  # another width under a known key: TemplateMismatch
        if chunk:
            self.watermark = max(self.watermark, max(rid for rid, _ in chunk))

    def remove_rows(self, row_ids: list[int]) -> None:
        for index in self.by_key.values():
            index.remove_many(row_ids)

    def __len__(self) -> int:
        return sum(len(index) for index in self.by_key.values())


class IndexManager:
    def __init__(self, *, threads: int = 1) -> None:
        self.threads = threads
        self._lock = _RWLock()
        self._state = threading.Lock()  # event bookkeeping
        self._collections: dict[str, _CollectionIndex] = {}
        self._last_event = -1
        self._recent: set[int] = set()  # applied event ids within the look-back window

    def __repr__(self) -> str:
        return f"IndexManager(collections={len(self._collections)}, last_event={self._last_event})"

    def load(self, session: Session, repo: SubjectRepository, snapshots: SnapshotStore | None = None) -> list[str]:
        """Builds every collection's index (start-up): from its snapshot when one is readable and
        current (then the rows and events since it), else from the database. Returns the ids of
        the collections read from the database (those worth a new snapshot)."""
        last = session.scalar(select(func.max(IndexEvent.id)))
        first = session.scalar(select(func.min(IndexEvent.id)))
        loaded: dict[str, _CollectionIndex] = {}
        from_database: list[str] = []
        for collection_id, app_id in session.execute(select(Collection.id, Collection.app_id)).all():
            snap = snapshots.read(collection_id) if snapshots is not None else None
            if snap is not None and snap.app_id == app_id and (first is None or snap.last_event >= first - 1):
                entry = loaded[collection_id] = _CollectionIndex(
                    int(app_id), {i.key_id: i for i in snap.indexes}, watermark=snap.watermark
                )
                since = snap.last_event - LOOK_BACK
                touched = session.scalars(
                    select(IndexEvent.subject_row)
                    .where(IndexEvent.collection_id == collection_id, IndexEvent.id > since)
                    .distinct()
                ).all()
                self._apply_entry(repo, collection_id, entry, {int(r) for r in touched})
            else:
                entry = loaded[collection_id] = _CollectionIndex(int(app_id))
                from_database.append(collection_id)
            self._read_new_rows(repo, collection_id, entry)
            for index in entry.by_key.values():
                index.compact()
        with self._lock.write(), self._state:
            self._collections = loaded
            self._last_event = int(last or 0)
            self._recent = set()
        return from_database

    def write_snapshots(
        self, snapshots: SnapshotStore, now: datetime, *, min_templates: int, only: list[str] | None = None
    ) -> int:
        """Writes the snapshot of every collection (or of ``only``) holding at least
        ``min_templates``; searches go on meanwhile, index changes wait. Returns how many."""
        written = 0
        with self._lock.read():
            with self._state:
                last_event = self._last_event
            for collection_id, entry in self._collections.items():
                if (only is not None and collection_id not in only) or len(entry) < max(min_templates, 1):
                    continue
                indexes = [index for index in entry.by_key.values() if len(index)]
                snapshots.write(
                    collection_id, entry.app_id, indexes, watermark=entry.watermark, last_event=last_event, now=now
                )
                written += 1
        return written

    @staticmethod
    def _read_new_rows(repo: SubjectRepository, collection_id: str, entry: _CollectionIndex) -> None:
        for chunk in repo.iter_templates(
            entry.app_id, collection_id, after_id=entry.watermark, chunk_size=CHUNK, purpose=Purpose.PROVIDE_FEATURES
        ):
            entry.add_chunk(chunk)

    def sync(self, session: Session, repo: SubjectRepository, app_id: int | None = None) -> None:
        """Applies the events written since the last sync (by this or any other process).

        ``app_id`` is accepted for the callers' sake; events of every app are applied.
        """
        with self._state:
            since = max(self._last_event, 0) - LOOK_BACK
            recent = set(self._recent)
        # Ids are allocated before commit, so a concurrent transaction can commit an id below one
        # already seen: look back a window and apply what was not applied yet.
        events = [
            (int(e[0]), str(e[1]), int(e[2]))
            for e in session.execute(
                select(IndexEvent.id, IndexEvent.collection_id, IndexEvent.subject_row)
                .where(IndexEvent.id > since)
                .order_by(IndexEvent.id)
            ).all()
            if e[0] not in recent
        ]
        if not events:
            return
        touched: dict[str, set[int]] = defaultdict(set)
        for _, collection_id, row_id in events:
            touched[collection_id].add(row_id)
        with self._lock.write():
            for collection_id, rows in touched.items():
                self._apply(session, repo, collection_id, rows)
            with self._state:
                self._recent.update(event_id for event_id, _, _ in events)
                self._last_event = max(self._last_event, max(event_id for event_id, _, _ in events))
                floor = self._last_event - LOOK_BACK
                self._recent = {event_id for event_id in self._recent if event_id > floor}

    def _apply(self, session: Session, repo: SubjectRepository, collection_id: str, rows: set[int]) -> None:
        """Puts ``rows`` of the collection in their current database state (writer lock held)."""
        entry = self._collections.get(collection_id)
        if entry is None:
            app_id = session.scalar(select(Collection.app_id).where(Collection.id == collection_id))
            if app_id is None:
                return  # the collection is gone
            entry = self._collections[collection_id] = _CollectionIndex(int(app_id))
        self._apply_entry(repo, collection_id, entry, rows)

    def _apply_entry(
        self, repo: SubjectRepository, collection_id: str, entry: _CollectionIndex, rows: set[int]
    ) -> None:
        old = sorted(r for r in rows if r <= entry.watermark)
        if old:
            entry.remove_rows(old)  # removed, re-issued, or re-added after removal
            current: list[tuple[int, bytes]] = []
            for start in range(0, len(old), FETCH_BY_ID):
                for rid, found_collection, _subject, blob in repo.rows_by_id(
                    entry.app_id, old[start : start + FETCH_BY_ID], purpose=Purpose.PROVIDE_FEATURES
                ):
                    if found_collection == collection_id:
                        current.append((rid, blob))
            current.sort()
            entry.add_chunk(current)
        if any(r > entry.watermark for r in rows):
            self._read_new_rows(repo, collection_id, entry)

    def key_ids(self, collection_id: str) -> list[str]:
        with self._lock.read():
            entry = self._collections.get(collection_id)
            return [k for k, idx in entry.by_key.items() if len(idx)] if entry else []

    def search_many(self, collection_id: str, queries: list[dict[str, FaceTemplate]], top_k: int) -> list[list[Match]]:
        """For each query (one template per key in use), the best ``top_k`` rows over every key.

        One scan of each key's codes answers all the queries (the batch path)."""
        found: list[list[Match]] = [[] for _ in queries]
        with self._lock.read():
            entry = self._collections.get(collection_id)
            if entry is None:
                return found
            for key_id, index in entry.by_key.items():
                asked = [(i, q[key_id]) for i, q in enumerate(queries) if key_id in q]
                if not asked or not len(index):
                    continue
                results = index.search_many([q for _, q in asked], top_k, threads=self.threads)
                for (i, _), matches in zip(asked, results, strict=True):
                    found[i].extend(matches)
        for matches in found:
            matches.sort(key=lambda m: (-m.score, m.id))
            del matches[top_k:]
        return found

    def search(self, collection_id: str, queries: dict[str, FaceTemplate], top_k: int) -> list[Match]:
        """Best matches over every key in use in the collection (one query template per key)."""
        return self.search_many(collection_id, [queries], top_k)[0]

    def size(self, collection_id: str) -> int:
        with self._lock.read():
            entry = self._collections.get(collection_id)
            return len(entry) if entry else 0

    def total(self) -> int:
        """Templates held over every collection."""
        with self._lock.read():
            return sum(len(entry) for entry in self._collections.values())

    def memory_bytes(self) -> int:
        """Bytes the indexes hold (codes and row ids, spare capacity included)."""
        with self._lock.read():
            return sum(i.memory_bytes for e in self._collections.values() for i in e.by_key.values())

    def drop(self, collection_id: str) -> None:
        with self._lock.write():
            self._collections.pop(collection_id, None)
