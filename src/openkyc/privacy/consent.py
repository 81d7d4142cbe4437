"""Explicit consent of end users, recorded and withdrawn with history kept.

The customer collects consent (for model improvement on sensitive data) and records it through
``POST /v1/privacy/consents``; the service stores one row per grant, with the consent-text
version, and sets ``withdrawn_at`` on withdrawal. Withdrawing model-improvement consent also
removes the subject's items from the consented dataset (``model_improvement_items``); the caller
deletes the blobs named in the returned :class:`Withdrawal`. Subject ids are stored only as keyed
hashes (the session's :func:`~openkyc.store.subject_keys.subject_keys_for`).

:class:`ConsentRepository` is gated at the storage boundary like the other repositories of personal
data (``purpose``: why the records are used now; ``consented_purpose``: what the consent is about).
:class:`SqlConsentLookup` is the gate's own lookup while it decides, so it reads without a purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from openkyc.errors import ConsentRequired, InvalidParameterValue
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import personal_data_repository, requires_purpose
from openkyc.privacy.vocabulary import DataElement, Obligation, Purpose
from openkyc.store.models.privacy import Consent, ModelImprovementItem
from openkyc.store.subject_keys import subject_keys_for

__all__ = ["ConsentRecord", "ConsentRepository", "SqlConsentLookup", "Withdrawal", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ConsentRecord:
    id: int
    app_id: int
    subject_id: str = field(repr=False)
    purpose: Purpose
    text_version: str
    granted_at: datetime
    withdrawn_at: datetime | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    @classmethod
    def from_row(cls, row: Consent, subject_id: str) -> ConsentRecord:
        """``subject_id``: the id the caller gave (the row holds only its keyed hash)."""
        return cls(
            id=row.id,
            app_id=row.app_id,
            subject_id=subject_id,
            purpose=Purpose(row.purpose),
            text_version=row.text_version,
            granted_at=row.granted_at,
            withdrawn_at=row.withdrawn_at,
        )


@dataclass(frozen=True)
class Withdrawal:
    consents_withdrawn: int
    items_removed: int
    blob_refs: tuple[str, ...] = field(repr=False, default=())


def _check_text(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidParameterValue(
            f"{what} must be a non-empty string of at most {limit} characters.",
            code=f"InvalidParameterValue.{what}",
        )
    return value


def _active_consent(session: Session, app_id: int, subject_ref: str, consented_purpose: Purpose) -> int | None:
    """The newest active grant's id, or None (shared by the repository and the gate's own lookup)."""
    found: int | None = session.scalar(
        select(Consent.id)
        .where(
            Consent.app_id == app_id,
            Consent.subject_id == subject_ref,
            Consent.purpose == Purpose(consented_purpose).value,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
        .limit(1)
    )
    return found


_CONSENTS = (DataElement.CONSENT_RECORD, DataElement.SUBJECT_ID)
_ITEMS = (DataElement.FACE_IMAGE, DataElement.SUBJECT_ID)


@personal_data_repository
class ConsentRepository:
    """Consents of one database session; the caller's service owns the transaction.

    Like every repository of personal data it is gated at the storage boundary: each method takes
    ``purpose`` (a :class:`Purpose` or an :class:`Obligation`), the purpose *of this use* of the
    consent records, checked by the gate before any row is read or written. The purpose a consent
    is *about* is ``consented_purpose``. Callers state: recording a grant, the consented purpose (the
    record is the proof that processing needs; a policy that does not allow it refuses the record);
    withdrawal, erasure and export, :attr:`Obligation.SUBJECT_RIGHTS`; adding an item,
    :attr:`Purpose.MODEL_IMPROVEMENT` (the gate then asks for the subject's consent itself).
    """

    def __init__(self, session: Session, gate: PurposeGate, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.session = session
        self.gate = gate
        self.clock = clock

    def __repr__(self) -> str:
        return "ConsentRepository()"

    def _ref(self, app_id: int, subject_id: str) -> str:
        """Subject ids are stored as keyed hashes (openkyc.store.subject_keys)."""
        return subject_keys_for(self.session).subject_ref(app_id, subject_id)

    @requires_purpose(*_CONSENTS, writes=True)
    def record(
        self,
        app_id: int,
        subject_id: str,
        consented_purpose: Purpose,
        text_version: str,
        *,
        purpose: Purpose | Obligation,
    ) -> ConsentRecord:
        """Record a grant; an identical active grant (same text version) is returned as is."""
        _check_text(subject_id, "SubjectId", 128)
        _check_text(text_version, "ConsentTextVersion", 64)
        consented_purpose = Purpose(consented_purpose)
        existing = self.session.scalars(
            select(Consent).where(
                Consent.app_id == app_id,
                Consent.subject_id == self._ref(app_id, subject_id),
                Consent.purpose == consented_purpose.value,
                Consent.text_version == text_version,
                Consent.withdrawn_at.is_(None),
            )
        ).first()
        if existing is not None:
            return ConsentRecord.from_row(existing, subject_id)
        row = Consent(
            app_id=app_id,
            subject_id=self._ref(app_id, subject_id),
            purpose=consented_purpose.value,
            text_version=text_version,
            granted_at=self.clock(),
            withdrawn_at=None,
        )
        self.session.add(row)
        self.session.flush()
        return ConsentRecord.from_row(row, subject_id)

    @requires_purpose(*_CONSENTS, *_ITEMS, writes=True)
    def withdraw(
        self, app_id: int, subject_id: str, consented_purpose: Purpose, *, purpose: Purpose | Obligation
    ) -> Withdrawal:
        """Withdraw every active grant for the purpose; model improvement also drops the items."""
        consented_purpose = Purpose(consented_purpose)
        result = self.session.execute(
            update(Consent)
            .where(
                Consent.app_id == app_id,
                Consent.subject_id == self._ref(app_id, subject_id),
                Consent.purpose == consented_purpose.value,
                Consent.withdrawn_at.is_(None),
            )
            .values(withdrawn_at=self.clock())
            .execution_options(synchronize_session=False)
        )
        withdrawn = int(getattr(result, "rowcount", 0) or 0)
        refs: tuple[str, ...] = ()
        if consented_purpose is Purpose.MODEL_IMPROVEMENT:
            refs = self._delete_items(app_id, subject_id)
        self.session.expire_all()
        return Withdrawal(withdrawn, len(refs), refs)

    @requires_purpose(*_CONSENTS)
    def has_consent(
        self, app_id: int, subject_id: str, consented_purpose: Purpose, *, purpose: Purpose | Obligation
    ) -> bool:
        return _active_consent(self.session, app_id, self._ref(app_id, subject_id), consented_purpose) is not None

    @requires_purpose(*_CONSENTS)
    def history(self, app_id: int, subject_id: str, *, purpose: Purpose | Obligation) -> list[ConsentRecord]:
        rows = self.session.scalars(
            select(Consent)
            .where(Consent.app_id == app_id, Consent.subject_id == self._ref(app_id, subject_id))
            .order_by(Consent.granted_at, Consent.id)
        )
        return [ConsentRecord.from_row(row, subject_id) for row in rows]

    @requires_purpose(*_CONSENTS, *_ITEMS, writes=True)
    def add_item(self, app_id: int, subject_id: str, kind: str, blob_ref: str, *, purpose: Purpose | Obligation) -> int:
        """Add an item to the consented dataset; refused without active model-improvement consent."""
        consent_id = _active_consent(self.session, app_id, self._ref(app_id, subject_id), Purpose.MODEL_IMPROVEMENT)
        if consent_id is None:
            raise ConsentRequired()
        item = ModelImprovementItem(
            app_id=app_id,
            subject_id=self._ref(app_id, subject_id),
            consent_id=consent_id,
            kind=_check_text(kind, "Kind", 48),
            blob_ref=_check_text(blob_ref, "BlobRef", 255),
            created_at=self.clock(),
        )
        self.session.add(item)
        self.session.flush()
        return item.id

    @requires_purpose(*_ITEMS)
    def item_refs(self, app_id: int, subject_id: str, *, purpose: Purpose | Obligation) -> list[str]:
        return self._item_refs(app_id, subject_id)

    @requires_purpose(*_CONSENTS, *_ITEMS, writes=True)
    def erase_subject(self, app_id: int, subject_id: str, *, purpose: Purpose | Obligation) -> dict[str, int]:
        """Erasure: remove the subject's consents and items; returns counts per kind."""
        refs = self._delete_items(app_id, subject_id)
        result = self.session.execute(
            delete(Consent)
            .where(Consent.app_id == app_id, Consent.subject_id == self._ref(app_id, subject_id))
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
        return {
            "consents": int(getattr(result, "rowcount", 0) or 0),
            "model_improvement_items": len(refs),
        }

    def _item_refs(self, app_id: int, subject_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(ModelImprovementItem.blob_ref).where(
                    ModelImprovementItem.app_id == app_id,
                    ModelImprovementItem.subject_id == self._ref(app_id, subject_id),
                )
            )
        )

    def _delete_items(self, app_id: int, subject_id: str) -> tuple[str, ...]:
        refs = tuple(self._item_refs(app_id, subject_id))
        self.session.execute(
            delete(ModelImprovementItem)
            .where(
                ModelImprovementItem.app_id == app_id,
                ModelImprovementItem.subject_id == self._ref(app_id, subject_id),
            )
            .execution_options(synchronize_session=False)
        )
        return refs


class SqlConsentLookup:
    """The gate's :class:`~openkyc.privacy.gate.ConsentLookup`, reading committed consents."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def __repr__(self) -> str:
        return "SqlConsentLookup()"

    def has_consent(self, app_id: int, subject_id: str, purpose: Purpose) -> bool:
        """The gate's own question while it decides (not a use of the records: no purpose of its own)."""
        with self.factory() as session:
            ref = subject_keys_for(session).subject_ref(app_id, subject_id)
            return _active_consent(session, app_id, ref, purpose) is not None
