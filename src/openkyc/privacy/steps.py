"""Retention steps: what a sweep step receives, and the registry the contexts contribute to.

Each context that stores personal data owns the steps that age it out, and registers them here
with the :class:`~openkyc.privacy.vocabulary.RetentionKind` whose period they apply::

    from openkyc.privacy.steps import SweepContext, register

    @register(RetentionKind.FACE_TEMPLATE, "face_templates")
    def face_templates(ctx: SweepContext) -> int:
        ...  # delete what is older than ctx.cutoff(RetentionKind.FACE_TEMPLATE); return the count

The sweep (:mod:`openkyc.privacy.sweep`) imports the contributing modules and runs every
registered step in registration order. A step registered with kind ``None`` (no kind) is housekeeping that
no policy period governs (expired replay signatures, orphan files). A test generated from
``policy.yaml`` fails when a retention kind of the policy has no step.

This module sits in the privacy core: it imports only the store and the policy, so every context
may import it without importing the runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from openkyc.privacy.policy import Policy
from openkyc.privacy.vocabulary import Obligation, RetentionKind
from openkyc.store.blobs import BlobStore
from openkyc.store.models.privacy import ModelImprovementItem

if TYPE_CHECKING:
    from openkyc.settings import Settings

__all__ = [
    "BATCH",
    "REGISTRY",
    "Kinds",
    "RegisteredStep",
    "StepRegistry",
    "SweepContext",
    "SweepStep",
    "register",
    "rowcount",
]

BATCH = 1000  # at most this many records of one kind per step and sweep; the next sweep goes on


@dataclass
class SweepContext:
    """One sweep's view: its transaction, the time, the policy's and the rules' cut-offs.

    A rule's shorter period applies to the rows made under it (the ``rule_id`` recorded with
    verification results and blobs): :meth:`rules_with_override`, :meth:`row_cutoff`. Rows written
    before migration 0018 did not record their rule (``rule_recorded`` false): their app's shortest
    period applies to them (``app_cutoffs``, :meth:`apps_with_override`), as it did before.
    """

    session: Session
    now: datetime
    policy: Policy
    cutoffs: dict[RetentionKind, datetime]
    blobs: BlobStore
    settings: Settings
    app_cutoffs: dict[int, dict[RetentionKind, datetime]] = field(default_factory=dict)
    rule_cutoffs: dict[str, dict[RetentionKind, datetime]] = field(default_factory=dict)

    def cutoff(self, kind: RetentionKind, app_id: int | None = None) -> datetime:
        """Records of ``kind`` created before this instant have expired (an app's shortest rule may
        shorten: only for rows that did not record their rule)."""
        if app_id is not None and kind in self.app_cutoffs.get(app_id, {}):
            return self.app_cutoffs[app_id][kind]
        return self.cutoffs[kind]

    def row_cutoff(self, kind: RetentionKind, app_id: int, rule_id: str | None, rule_recorded: bool) -> datetime:
        """The cut-off of one row of ``kind``: its own rule's (or the policy's when the row was made
        under no rule, or under a rule that shortens nothing); a row that did not record its rule
        gets its app's shortest."""
        if not rule_recorded:
            return self.cutoff(kind, app_id)
        if rule_id is not None and kind in self.rule_cutoffs.get(rule_id, {}):
            return self.rule_cutoffs[rule_id][kind]
        return self.cutoffs[kind]

    def apps_with_override(self, kind: RetentionKind) -> dict[int, datetime]:
        """Apps whose rules shorten ``kind``, with their shortest cut-off (for rows without a recorded rule)."""
        return {app_id: per_app[kind] for app_id, per_app in self.app_cutoffs.items() if kind in per_app}

    def rules_with_override(self, kind: RetentionKind) -> dict[str, datetime]:
        """Rules that shorten ``kind``, with their cut-off (for the rows made under them)."""
        return {rule_id: per_rule[kind] for rule_id, per_rule in self.rule_cutoffs.items() if kind in per_rule}

    def delete_blobs(self, blob_ids: Sequence[str]) -> int:
        """Delete blobs (row and file) and any consented item pointing at them."""
        if not blob_ids:
            return 0
        self.session.execute(
            delete(ModelImprovementItem)
            .where(ModelImprovementItem.blob_ref.in_(blob_ids))
            .execution_options(synchronize_session=False)
        )
        return sum(self.blobs.delete(self.session, blob_id, purpose=Obligation.RETENTION) for blob_id in blob_ids)


SweepStep = Callable[[SweepContext], int]
Kinds = RetentionKind | Sequence[RetentionKind] | None


@dataclass(frozen=True)
class RegisteredStep:
    kinds: tuple[RetentionKind, ...]  # empty: housekeeping no policy period governs
    name: str
    step: SweepStep
    owner: str  # the module that contributed it


class StepRegistry:
    """Steps in registration order; names are unique (they key the sweep's counts)."""

    def __init__(self) -> None:
        self._steps: dict[str, RegisteredStep] = {}

    def __repr__(self) -> str:
        return f"StepRegistry({list(self._steps)!r})"

    def add(self, kinds: Kinds, name: str, step: SweepStep) -> SweepStep:
        existing = self._steps.get(name)
        owner = getattr(step, "__module__", "?")
        if existing is not None and existing.owner != owner:
            raise ValueError(f"a retention step named {name!r} is already registered by {existing.owner}")
        if kinds is None:
            chosen: tuple[RetentionKind, ...] = ()
        elif isinstance(kinds, RetentionKind):
            chosen = (kinds,)
        else:
            chosen = tuple(RetentionKind(k) for k in kinds)
        self._steps[name] = RegisteredStep(kinds=chosen, name=name, step=step, owner=owner)
        return step

    def steps(self) -> tuple[RegisteredStep, ...]:
        return tuple(self._steps.values())

    def for_kind(self, kind: RetentionKind) -> tuple[RegisteredStep, ...]:
        return tuple(s for s in self._steps.values() if kind in s.kinds)

    def kinds(self) -> frozenset[RetentionKind]:
        return frozenset(kind for s in self._steps.values() for kind in s.kinds)


REGISTRY = StepRegistry()


def register(kinds: Kinds, name: str) -> Callable[[SweepStep], SweepStep]:
    """Decorator: contribute ``step`` to the sweep under ``name``, applying the period of ``kinds``."""

    def decorate(step: SweepStep) -> SweepStep:
        return REGISTRY.add(kinds, name, step)

    return decorate


def rowcount(result: Any) -> int:
    """Rows a bulk DELETE/UPDATE touched (0 where the driver does not say)."""
    return int(getattr(result, "rowcount", 0) or 0)
