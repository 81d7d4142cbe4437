"""The retention sweep: delete what the policy (or a shorter rule) no longer allows us to keep.

Every retention kind of the policy is applied by steps that the context owning the data registers
in :data:`openkyc.privacy.steps.REGISTRY` (``register(kind, name)``). This module contributes the
steps of the privacy core (blobs, orphan files, consent records, replay signatures, idempotent
answers) and imports the contributing context modules listed in :data:`CONTRIBUTORS`; :data:`STEPS`
is the resulting ordered list of ``(name, step)``. Each step gets a
:class:`~openkyc.privacy.steps.SweepContext` and returns how many things it deleted (or stripped).
:func:`run_sweep` runs them in one transaction, appends a ``retention_sweep`` audit record with the
counts and returns a :class:`SweepReport`.

:class:`RetentionScheduler` runs the sweep in a background thread every
``settings.retention_sweep_seconds``; the app lifespan starts and stops it. ``openkyc purge`` runs
it by hand; with Redis the job worker schedules it instead (:mod:`openkyc.jobs`). The sweep takes a
:class:`Sweeper` (stored data through :class:`DataAccess`, the settings, the process's sweep lock),
never the runtime (DESIGN.md section 7): the adapters get it from ``runtime.sweeper``. Every step
reads the time from the data access's clock, so tests move the clock.

Exactly one sweep runs at a time: a process-local lock, and on PostgreSQL a transaction-scoped
advisory lock taken first in the sweep's transaction (:mod:`openkyc.store.locks`). A sweep that
finds either held raises :class:`SweepInProgress` without deleting anything.

This module runs steps across every context, so it belongs with the flows above them (the
``compliance`` layer of DESIGN.md section 7); the contexts import only :mod:`openkyc.privacy.steps`.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openkyc.errors import SweepInProgress
from openkyc.privacy import audit
from openkyc.privacy.access import DataAccess
from openkyc.privacy.policy import Policy
from openkyc.privacy.retention import cutoffs
from openkyc.privacy.service import app_retention, rule_retention
from openkyc.privacy.steps import BATCH, REGISTRY, SweepContext, SweepStep, register, rowcount
from openkyc.privacy.vocabulary import Obligation, RetentionKind
from openkyc.settings import Settings
from openkyc.store import idempotency
from openkyc.store.locks import try_transaction_lock
from openkyc.store.models.accounts import SeenSignature
from openkyc.store.models.media import Blob
from openkyc.store.models.privacy import Consent, ModelImprovementItem
from openkyc.store.subject_keys import subject_keys_for

__all__ = [
    "CONTRIBUTORS",
    "STEPS",
    "RetentionScheduler",
    "SweepContext",
    "SweepInProgress",
    "SweepReport",
    "SweepStep",
    "Sweeper",
    "run_sweep",
]

log = logging.getLogger("openkyc.privacy.sweep")

BLOB_RETENTION = {
    "face_image": RetentionKind.FACE_IMAGE,
    "best_frame": RetentionKind.FACE_IMAGE,
    "video": RetentionKind.FACE_VIDEO,
    "document_image": RetentionKind.DOCUMENT_IMAGE,
}
ORPHAN_GRACE = timedelta(minutes=10)  # a file whose row is still being committed is not an orphan
LOCK_NAME = "retention-sweep"

# Context modules that register retention steps (imported once, below, in this order).
CONTRIBUTORS: tuple[str, ...] = (
    "openkyc.improvement.retention",
    "openkyc.verification.retention",
    "openkyc.liveness.retention",
    "openkyc.biometrics.retention",
    "openkyc.diagnostics.retention",
    "openkyc.jobs.retention",
)


@dataclass(frozen=True)
class Sweeper:
    """What a retention sweep needs: stored data, the settings, and the process's one-sweep lock."""

    data: DataAccess
    settings: Settings
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False)

    def __repr__(self) -> str:
        return "Sweeper()"


@dataclass(frozen=True)
class SweepReport:
    started_at: datetime
    counts: dict[str, int]
    seconds: float

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "started_at": self.started_at.isoformat(),
            "counts": dict(self.counts),
            "total": self.total,
            "seconds": round(self.seconds, 3),
        }


def _improvement_refs(ctx: SweepContext) -> set[str]:
    return set(ctx.session.scalars(select(ModelImprovementItem.blob_ref)))


@register(None, "expired_record_keys")
def expired_record_keys(ctx: SweepContext) -> int:
    """Keys of records tied to no subject, past their record's expiry: destroyed (crypto-shredding)."""
    return subject_keys_for(ctx.session).destroy_expired(ctx.now)


@register(None, "expired_blobs")
def expired_blobs(ctx: SweepContext) -> int:
    """Blobs past the ``expires_at`` they were written with."""
    return ctx.delete_blobs(ctx.blobs.expired(ctx.session, ctx.now, limit=BATCH, purpose=Obligation.RETENTION))


def media_by_policy(ctx: SweepContext) -> int:
    """Images, videos and document images older than the policy (or the rule they were stored under) allows.

    Consented model-improvement items are kept here; their own step ages them.
    """
    keep = _improvement_refs(ctx)
    oldest = min(ctx.cutoff(kind) for kind in BLOB_RETENTION.values())
    shortened = [*ctx.app_cutoffs.values(), *ctx.rule_cutoffs.values()]
    latest = max([oldest, *(c for per_row in shortened for c in per_row.values())])
    rows = ctx.session.execute(
        select(Blob.id, Blob.app_id, Blob.kind, Blob.created_at, Blob.rule_id, Blob.rule_recorded).where(
            Blob.kind.in_(BLOB_RETENTION), Blob.created_at < latest
        )
    ).all()
    doomed = [
        blob_id
        for blob_id, app_id, kind, created_at, rule_id, recorded in rows
        if blob_id not in keep and created_at < ctx.row_cutoff(BLOB_RETENTION[kind], app_id, rule_id, recorded)
    ]
    return ctx.delete_blobs(doomed[:BATCH])


# One step applies the three media kinds: one query over the blobs table.
register(tuple(dict.fromkeys(BLOB_RETENTION.values())), "media_by_policy")(media_by_policy)


@register(None, "orphan_files")
def orphan_files(ctx: SweepContext) -> int:
    """Blob files without a row (a write whose transaction failed), older than a grace period."""
    limit = (ctx.now - ORPHAN_GRACE).timestamp()
    count = 0
    for path in ctx.blobs.orphan_files(ctx.session, purpose=Obligation.RETENTION):
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                count += 1
        except FileNotFoundError:
            continue
    return count


@register(RetentionKind.CONSENT_RECORD, "consent_records")
def consent_records(ctx: SweepContext) -> int:
    """Consents withdrawn longer ago than the policy keeps them as proof (active ones stay)."""
    result = ctx.session.execute(
        delete(Consent)
        .where(Consent.withdrawn_at.is_not(None), Consent.withdrawn_at < ctx.cutoff(RetentionKind.CONSENT_RECORD))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


@register(None, "seen_signatures")
def seen_signatures(ctx: SweepContext) -> int:
    result = ctx.session.execute(
        delete(SeenSignature).where(SeenSignature.expires_at <= ctx.now).execution_options(synchronize_session=False)
    )
    return rowcount(result)


@register(None, "idempotent_answers")
def idempotent_answers(ctx: SweepContext) -> int:
    """Stored answers of ``Idempotency-Key`` retries past their expiry (at most the media period)."""
    return idempotency.purge_expired(ctx.session, ctx.now)


def _rule_cutoffs(
    session: Session, policy: Policy, now: datetime
) -> tuple[dict[int, dict[RetentionKind, datetime]], dict[str, dict[RetentionKind, datetime]]]:
    """The cut-offs of the rules that shorten a period: per app (its shortest, for rows that did
    not record their rule) and per rule (for the rows made under it)."""
    rules = rule_retention(session, policy)
    per_rule = {
        rule.rule_id: {RetentionKind(kind): now - timedelta(hours=hours) for kind, hours in rule.overrides.items()}
        for rule in rules
        if rule.rule_id is not None
    }
    per_app = {
        app_id: {RetentionKind(kind): now - timedelta(hours=hours) for kind, hours in kinds.items()}
        for app_id, kinds in app_retention(rules).items()
    }
    return per_app, per_rule


def run_sweep(
    sweeper: Sweeper, *, steps: Sequence[tuple[str, SweepStep]] | None = None, actor: str = "retention-sweep"
) -> SweepReport:
    """Run every step in one transaction and audit the counts; :class:`SweepInProgress` if one runs."""
    if not sweeper.lock.acquire(blocking=False):
        raise SweepInProgress()
    try:
        return _sweep(sweeper, steps, actor)
    finally:
        sweeper.lock.release()


def _sweep(sweeper: Sweeper, steps: Sequence[tuple[str, SweepStep]] | None, actor: str) -> SweepReport:
    started = time.perf_counter()
    data = sweeper.data
    now = data.clock()
    policy = data.gate.policy
    counts: dict[str, int] = {}
    with data.transaction() as session:
        if not try_transaction_lock(session, LOCK_NAME):
            raise SweepInProgress()
        app_cutoffs, rule_cutoffs = _rule_cutoffs(session, policy, now)
        ctx = SweepContext(
            session=session,
            now=now,
            policy=policy,
            cutoffs=cutoffs(policy, now),
            blobs=data.blobs,
            settings=sweeper.settings,
            app_cutoffs=app_cutoffs,
            rule_cutoffs=rule_cutoffs,
        )
        for name, step in steps if steps is not None else STEPS:
            counts[name] = int(step(ctx))
        audit.append(
            session,
            audit.AuditEvent.RETENTION_SWEEP,
            actor=actor,
            now=now,
            details={"counts": dict(counts)},
            checkpoint=True,  # each sweep anchors the log's head outside the database
        )
    report = SweepReport(started_at=now, counts=counts, seconds=time.perf_counter() - started)
    log.info("retention sweep", extra={"deleted": report.total})
    return report


class RetentionScheduler:
    """Runs :func:`run_sweep` every ``interval`` seconds in a daemon thread until :meth:`stop`.

    ``before_each`` runs first each time (the API process without Redis passes the webhook outbox's
    recovery, as the job worker does before its sweeps); its failure is logged and the sweep still runs.
    """

    def __init__(
        self,
        sweeper: Sweeper,
        interval: float,
        *,
        run_at_start: bool = False,
        before_each: Callable[[], object] | None = None,
    ) -> None:
        self.sweeper = sweeper
        self.interval = interval
        self.run_at_start = run_at_start
        self.before_each = before_each
        self.runs = 0
        self.last_report: SweepReport | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"RetentionScheduler(interval={self.interval!r}, runs={self.runs})"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="openkyc-retention-sweep", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        if self.run_at_start:
            self._once()
        while not self._stop.wait(self.interval):
            self._once()

    def _once(self) -> None:
        if self.before_each is not None:
            try:
                self.before_each()
            except Exception:  # the sweep must still run
                log.exception("the step before the retention sweep failed")
        try:
            self.last_report = run_sweep(self.sweeper)
        except SweepInProgress:
            log.info("retention sweep skipped: another one is running")
        except Exception:  # the next run retries; a failed sweep must not stop the service
            log.exception("retention sweep failed")
        finally:
            self.runs += 1


# Last, so that a contributor importing a module that imports this one finds it complete.
for _module in CONTRIBUTORS:
    importlib.import_module(_module)

STEPS: list[tuple[str, SweepStep]] = [(step.name, step.step) for step in REGISTRY.steps()]
