"""The process-wide 1:N index: built from the database at start-up, kept current from it.

Every enrolment and removal appends an ``index_events`` row in the same transaction. Before each
search (and after each local write) the process replays the events it has not seen yet, so several
API processes sharing one database converge without talking to each other.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openkyc.biometrics.index import Match, TemplateIndex
from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.faces import IndexEvent, Subject


@dataclass
class _CollectionIndex:
    by_key: dict[str, TemplateIndex] = field(default_factory=dict)
    rows: dict[int, tuple[str, str]] = field(default_factory=dict)  # row id -> (subject_id, key_id)

    def add(self, row_id: int, subject_id: str, template: FaceTemplate) -> None:
        self.remove(row_id)
        index = self.by_key.get(template.key_id)
        if index is None:
            index = self.by_key[template.key_id] = TemplateIndex(template.key_id, template.bits)
        index.add(subject_id, template)
        self.rows[row_id] = (subject_id, template.key_id)

    def remove(self, row_id: int) -> None:
        known = self.rows.pop(row_id, None)
        if known is not None:
            subject_id, key_id = known
            self.by_key[key_id].remove(subject_id)

    def __len__(self) -> int:
        return len(self.rows)


LOOK_BACK = 256


class IndexManager:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._collections: dict[str, _CollectionIndex] = defaultdict(_CollectionIndex)
        self._last_event = -1
        self._recent: set[int] = set()  # applied event ids within the look-back window

    def __repr__(self) -> str:
        return f"IndexManager(collections={len(self._collections)}, last_event={self._last_event})"

    def load(self, session: Session, repo: SubjectRepository) -> None:
        """Builds every collection's index from the database (start-up)."""
        with self._lock:
            last = session.scalar(select(func.max(IndexEvent.id)))
            self._collections.clear()
            rows = session.execute(select(Subject.id, Subject.app_id, Subject.collection_id))
            by_app: dict[int, list[int]] = defaultdict(list)
            for row_id, app_id, _ in rows:
                by_app[app_id].append(row_id)
            for app_id, row_ids in by_app.items():
                for rid, collection_id, subject_id, blob in repo.rows_by_id(
                    app_id, row_ids, purpose=Purpose.PROVIDE_FEATURES
                ):
                    self._collections[collection_id].add(rid, subject_id, FaceTemplate.from_bytes(blob))
            self._last_event = int(last or 0)
            self._recent = set()

    def sync(self, session: Session, repo: SubjectRepository, app_id: int) -> None:
        """Applies the events written since the last sync (by this or any other process)."""
        with self._lock:
            if self._last_event < 0:
                self._last_event = 0
            # Ids are allocated before commit, so a concurrent transaction can commit an id below
            # one already seen: look back a window and apply what was not applied yet.
            events = [
                e
                for e in session.execute(
                    select(IndexEvent.id, IndexEvent.collection_id, IndexEvent.subject_row, IndexEvent.op)
                    .where(IndexEvent.id > self._last_event - LOOK_BACK)
                    .order_by(IndexEvent.id)
                ).all()
                if e[0] not in self._recent
            ]
            if not events:
                return
            adds = [e[2] for e in events if e[3] == "add"]
            current = {
                rid: (collection_id, subject_id, blob)
                for rid, collection_id, subject_id, blob in repo.rows_by_id(
                    app_id, adds, purpose=Purpose.PROVIDE_FEATURES
                )
            }
            for event_id, collection_id, row_id, op in events:
                entry = self._collections[collection_id]
                if op == "remove":
                    entry.remove(row_id)
                elif row_id in current:
                    _, subject_id, blob = current[row_id]
                    entry.add(row_id, subject_id, FaceTemplate.from_bytes(blob))
                self._recent.add(event_id)
                self._last_event = max(self._last_event, event_id)
            floor = self._last_event - LOOK_BACK
            self._recent = {event_id for event_id in self._recent if event_id > floor}

    def key_ids(self, collection_id: str) -> list[str]:
        with self._lock:
            entry = self._collections.get(collection_id)
            return [k for k, idx in entry.by_key.items() if len(idx)] if entry else []

    def search(self, collection_id: str, queries: dict[str, FaceTemplate], top_k: int) -> list[Match]:
        """Best matches over every key in use in the collection (one query template per key)."""
        with self._lock:
            entry = self._collections.get(collection_id)
            if entry is None:
                return []
            found: list[Match] = []
            for key_id, query in queries.items():
                index = entry.by_key.get(key_id)
                if index is not None and len(index):
                    found.extend(index.search(query, top_k))
        found.sort(key=lambda m: m.score, reverse=True)
        return found[:top_k]

    def size(self, collection_id: str) -> int:
        with self._lock:
            entry = self._collections.get(collection_id)
            return len(entry) if entry else 0

    def drop(self, collection_id: str) -> None:
        with self._lock:
            self._collections.pop(collection_id, None)
