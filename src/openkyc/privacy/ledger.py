"""What one request decided and touched: gate decisions, personal-data touches, deferred refusals.

The API gateway opens a :class:`Ledger` for each request (:func:`open_ledger`) and closes it when
the request ends. Code runs with it in a context variable (it follows the request into the worker
thread that runs the route), so:

* the purpose gate records each decision here (:func:`decided`), and a refusal is *deferred*
  (:func:`defer_refusal`): the gateway writes it to the audit log in its own transaction after the
  request's transactions have ended, before the answer is sent (:meth:`Ledger.flush_refusals`).
  A refusal therefore never waits on the request's own write lock (SQLite has one writer) and
  never rolls back with it;
* the storage boundary records each touch of personal data (:func:`touched`): the blob store, every
  ``@requires_purpose`` repository method and each lease of a model instance, as a read, a write
  or a model run. A touch is *covered* when decisions of the same request named every element it
  touches, and were made in time: before the request's first write or model run (a later decision
  is one that could still refuse after something was written, so it does not count), or, while
  nothing was written yet, before the touch itself. Obligations (never refused) always count. A
  model lease touches no element but needs some decision first. Watchers (:func:`watch`, tests)
  receive each finished ledger and fail on uncovered touches.

Outside a request (CLI, sweeps, jobs) there is no ledger: refusals are written at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from openkyc.privacy.vocabulary import DataElement

__all__ = [
    "MODEL",
    "READ",
    "WRITE",
    "Decision",
    "Ledger",
    "Touch",
    "current",
    "decided",
    "defer_refusal",
    "open_ledger",
    "touched",
    "watch",
]


READ, WRITE, MODEL = "read", "write", "model"


@dataclass(frozen=True)
class Decision:
    purpose: str  # a Purpose or an Obligation value
    elements: frozenset[DataElement]
    obligation: bool = False


@dataclass(frozen=True)
class Touch:
    what: str  # "BlobStore.put", "SubjectRepository.add", "models.lease", ...
    elements: frozenset[DataElement]
    kind: str  # READ, WRITE or MODEL
    covered: bool


@dataclass
class Ledger:
    """One request's decisions, touches and refusals waiting for their audit record."""

    label: str = ""
    decisions: list[Decision] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)
    pending: list[tuple[Callable[[Any], None], Any]] = field(default_factory=list)
    # what the decisions made before the first write or model run named (None until then)
    in_time: frozenset[DataElement] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def decide(self, purpose: str, elements: Iterable[DataElement], *, obligation: bool = False) -> None:
        with self._lock:
            self.decisions.append(Decision(purpose, frozenset(elements), obligation))

    def touch(self, what: str, elements: Iterable[DataElement], kind: str = READ) -> Touch:
        wanted = frozenset(elements)
        with self._lock:
            so_far = frozenset[DataElement]().union(*(d.elements for d in self.decisions))
            by_law = frozenset[DataElement]().union(*(d.elements for d in self.decisions if d.obligation))
            allowed = (self.in_time if self.in_time is not None else so_far) | by_law
            covered = bool(self.decisions) and wanted <= allowed
            if kind != READ and self.in_time is None:
                self.in_time = so_far
            found = Touch(what, wanted, kind, covered)
            self.touches.append(found)
        return found

    def uncovered(self) -> list[Touch]:
        return [t for t in self.touches if not t.covered]

    def flush_refusals(self) -> int:
        """Writes the deferred refusals (each sink in its own transaction); returns how many."""
        with self._lock:
            pending, self.pending = self.pending, []
        for write, refusal in pending:
            write(refusal)
        return len(pending)


_current: ContextVar[Ledger | None] = ContextVar("openkyc_ledger", default=None)
_watchers: list[Callable[[Ledger], None]] = []
_watchers_lock = threading.Lock()


def current() -> Ledger | None:
    return _current.get()


def decided(purpose: str, elements: Iterable[DataElement], *, obligation: bool = False) -> None:
    ledger = _current.get()
    if ledger is not None:
        ledger.decide(purpose, elements, obligation=obligation)


def touched(what: str, elements: Iterable[DataElement] = (), kind: str = READ) -> None:
    ledger = _current.get()
    if ledger is not None:
        ledger.touch(what, elements, kind)


def defer_refusal(write: Callable[[Any], None], refusal: Any) -> bool:
    """Queues ``write(refusal)`` for the end of the request; ``False`` when no request is open."""
    ledger = _current.get()
    if ledger is None:
        return False
    with ledger._lock:
        ledger.pending.append((write, refusal))
    return True


@contextmanager
def open_ledger(label: str = "") -> Iterator[Ledger]:
    """A ledger for the code run inside the block (one request); watchers get it at the end.

    The caller flushes deferred refusals (:meth:`Ledger.flush_refusals`) once the request's
    transactions are over; whatever is left is flushed here.
    """
    ledger = Ledger(label)
    token = _current.set(ledger)
    try:
        yield ledger
    finally:
        _current.reset(token)
        try:
            ledger.flush_refusals()
        finally:
            with _watchers_lock:
                watchers = list(_watchers)
            for watcher in watchers:
                watcher(ledger)


@contextmanager
def watch() -> Iterator[list[Ledger]]:
    """Every ledger closed while the block runs (tests: the route-walk gate test)."""
    seen: list[Ledger] = []
    with _watchers_lock:
        _watchers.append(seen.append)
    try:
        yield seen
    finally:
        with _watchers_lock:
            _watchers.remove(seen.append)
