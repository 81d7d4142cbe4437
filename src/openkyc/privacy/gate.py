"""The purpose gate: every use of personal data states a purpose, and the policy decides.

``PurposeGate.check(purpose, items, subject=..., app_id=...)`` returns a :class:`GateDecision` when
the policy allows ``purpose`` for every item (a whole :class:`DataCategory` stands for all of its
elements), and raises otherwise:

* :class:`~openkyc.errors.PurposeNotAllowed` when the table does not allow the purpose;
* :class:`~openkyc.errors.ConsentRequired` when the purpose needs explicit consent for a sensitive
  element (model improvement on face images, face features, ID numbers) and the subject has none
  recorded, or no subject was named.

An :class:`~openkyc.privacy.vocabulary.Obligation` (retention, data-subject rights) is stated like a
purpose and never refused: the law requires it whatever the policy's purposes say.

Each decision is recorded in the request's :mod:`~openkyc.privacy.ledger` (the storage boundary
checks touches against it in tests). Each refusal is reported to the :class:`AuditSink` before the
error is raised: inside a request it is *deferred* to the request's ledger, which the gateway
writes once the request's transactions have ended (so a refusal never waits on the request's own
SQLite write lock, nor rolls back with it); outside a request it is written at once. The sink
writes in its own transaction (see :class:`openkyc.privacy.audit.AuditLogSink`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from openkyc.errors import ConsentRequired, PurposeNotAllowed
from openkyc.privacy import ledger
from openkyc.privacy.policy import Policy
from openkyc.privacy.vocabulary import DataCategory, DataElement, Obligation, Purpose, elements_of

__all__ = [
    "AuditSink",
    "ConsentLookup",
    "DataCategory",
    "DataElement",
    "GateDecision",
    "GateRefusal",
    "InMemoryAuditSink",
    "InMemoryConsentLookup",
    "Obligation",
    "Purpose",
    "PurposeGate",
    "expand",
]


class ConsentLookup(Protocol):
    """Whether a subject has explicit consent on record (not withdrawn) for a purpose."""

    def has_consent(self, app_id: int, subject_id: str, purpose: Purpose) -> bool: ...


@dataclass(frozen=True)
class GateRefusal:
    """What the audit log records about a refusal: no subject id, only whether one was given."""

    purpose: Purpose
    elements: tuple[DataElement, ...]
    code: str
    reason: str
    app_id: int | None
    subject_given: bool


class AuditSink(Protocol):
    def gate_refusal(self, refusal: GateRefusal) -> None: ...


@dataclass(frozen=True)
class GateDecision:
    purpose: Purpose | Obligation
    elements: tuple[DataElement, ...]
    consent_checked: bool


@dataclass
class InMemoryConsentLookup:
    """Consents as a set of ``(app_id, subject_id, purpose)``; for tests and embedded tools."""

    granted: set[tuple[int, str, Purpose]] = field(default_factory=set)

    def grant(self, app_id: int, subject_id: str, purpose: Purpose) -> None:
        self.granted.add((app_id, subject_id, purpose))

    def withdraw(self, app_id: int, subject_id: str, purpose: Purpose) -> None:
        self.granted.discard((app_id, subject_id, purpose))

    def has_consent(self, app_id: int, subject_id: str, purpose: Purpose) -> bool:
        return (app_id, subject_id, purpose) in self.granted


@dataclass
class InMemoryAuditSink:
    refusals: list[GateRefusal] = field(default_factory=list)

    def gate_refusal(self, refusal: GateRefusal) -> None:
        self.refusals.append(refusal)


def expand(items: Iterable[DataCategory | DataElement]) -> tuple[DataElement, ...]:
    """Elements named by ``items`` (a category names all of its elements), in enum order."""
    wanted: set[DataElement] = set()
    for item in items:
        if isinstance(item, DataElement):
            wanted.add(item)
        elif isinstance(item, DataCategory):
            wanted.update(elements_of(item))
        else:
            raise TypeError(f"not a DataCategory or DataElement: {type(item).__name__}")
    return tuple(element for element in DataElement if element in wanted)


class PurposeGate:
    """Allows a purpose on data only as the policy says; refusals are raised and audited."""

    def __init__(self, policy: Policy, consent_lookup: ConsentLookup, audit_sink: AuditSink | None = None) -> None:
        self.policy = policy
        self.consent_lookup = consent_lookup
        self.audit_sink = audit_sink

    def __repr__(self) -> str:
        return f"PurposeGate(policy={self.policy.name!r})"

    def allows(self, purpose: Purpose, item: DataCategory | DataElement) -> bool:
        """Whether the policy table allows ``purpose`` for ``item`` (consent aside)."""
        return all(purpose in self.policy.allowed_purposes(e) for e in expand([item]))

    def check(
        self,
        purpose: Purpose | Obligation,
        items: Iterable[DataCategory | DataElement] | DataCategory | DataElement,
        *,
        subject: str | None = None,
        app_id: int | None = None,
    ) -> GateDecision:
        if not isinstance(purpose, Purpose | Obligation):
            raise TypeError("purpose must be a Purpose or an Obligation")
        if isinstance(items, DataCategory | DataElement):
            items = [items]
        elements = expand(items)
        if not elements:
            raise ValueError("the gate needs at least one data category or element")
        if isinstance(purpose, Obligation):  # required by law: recorded, never refused
            ledger.decided(purpose.value, elements, obligation=True)
            return GateDecision(purpose=purpose, elements=elements, consent_checked=False)

        refused = tuple(e for e in elements if purpose not in self.policy.allowed_purposes(e))
        if refused:
            names = ", ".join(e.value for e in refused)
            error: PurposeNotAllowed | ConsentRequired = PurposeNotAllowed(
                f"The policy does not allow the purpose {purpose.value} for {names}."
            )
            self._refuse(purpose, refused, error, app_id, subject)

        needing = tuple(e for e in elements if self.policy.needs_consent(purpose, e))
        if needing:
            consented = (
                subject is not None and app_id is not None and self.consent_lookup.has_consent(app_id, subject, purpose)
            )
            if not consented:
                names = ", ".join(e.value for e in needing)
                error = ConsentRequired(
                    f"The purpose {purpose.value} on {names} needs the subject's recorded explicit consent."
                )
                self._refuse(purpose, needing, error, app_id, subject)
        ledger.decided(purpose.value, elements)
        return GateDecision(purpose=purpose, elements=elements, consent_checked=bool(needing))

    def _refuse(
        self,
        purpose: Purpose,
        elements: tuple[DataElement, ...],
        error: PurposeNotAllowed | ConsentRequired,
        app_id: int | None,
        subject: str | None,
    ) -> None:
        if self.audit_sink is not None:
            refusal = GateRefusal(
                purpose=purpose,
                elements=elements,
                code=error.error_code,
                reason=error.message,
                app_id=app_id,
                subject_given=subject is not None,
            )
            # in a request: written after its transactions end; elsewhere: now, in its own transaction
            if not ledger.defer_refusal(self.audit_sink.gate_refusal, refusal):
                self.audit_sink.gate_refusal(refusal)
        raise error
