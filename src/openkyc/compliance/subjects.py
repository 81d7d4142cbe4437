"""Subject rights, the data side: erasure receipts and the export (access) structure.

:mod:`openkyc.compliance.rights` runs the registered steps; this module shapes the results. An :class:`ErasureReceipt` lists only kinds and counts of what was removed, when, and a
receipt id; the subject appears only as :func:`subject_reference`, an HMAC-SHA256 of the app and
subject id under a secret salt, so the receipt (kept after the data is gone) holds no personal
data yet a later request for the same subject can be matched to it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from openkyc.privacy.vocabulary import DataCategory, DataElement, LegalBasis, Purpose, RetentionKind
from openkyc.store.models.privacy import ErasureReceiptRow

__all__ = [
    "ErasureReceipt",
    "ExportFile",
    "ExportItem",
    "SubjectExport",
    "get_receipt",
    "new_receipt",
    "save_receipt",
    "subject_reference",
]


def subject_reference(salt: bytes, app_id: int, subject_id: str) -> str:
    """Keyed hash naming a subject without holding its id (64 hex characters)."""
    if len(salt) < 16:
        raise ValueError("the subject-reference salt must be at least 16 bytes")
    message = f"{app_id}\x1f{subject_id}".encode()
    return hmac.new(salt, message, hashlib.sha256).hexdigest()


class ErasureReceipt(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    receipt_id: str
    app_id: int
    subject_ref: str = Field(min_length=64, max_length=64)
    requested_at: datetime
    completed_at: datetime
    items: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.items.values())

    def audit_details(self) -> dict[str, Any]:
        """What the audit log records about the erasure (no subject reference at all)."""
        return {"receipt_id": self.receipt_id, "items": dict(self.items), "total": self.total}


def new_receipt(
    *,
    salt: bytes,
    app_id: int,
    subject_id: str,
    items: Mapping[str, int],
    requested_at: datetime,
    completed_at: datetime,
) -> ErasureReceipt:
    for kind, count in items.items():
        if not kind or isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("erasure items are kinds with non-negative counts")
    if completed_at < requested_at:
        raise ValueError("an erasure cannot complete before it was requested")
    return ErasureReceipt(
        receipt_id=str(uuid.uuid4()),
        app_id=app_id,
        subject_ref=subject_reference(salt, app_id, subject_id),
        requested_at=requested_at,
        completed_at=completed_at,
        items=dict(sorted(items.items())),
    )


def save_receipt(session: Session, receipt: ErasureReceipt) -> None:
    session.add(ErasureReceiptRow(**receipt.model_dump()))
    session.flush()


def get_receipt(session: Session, receipt_id: str) -> ErasureReceipt | None:
    row = session.get(ErasureReceiptRow, receipt_id)
    if row is None:
        return None
    return ErasureReceipt(
        receipt_id=row.receipt_id,
        app_id=row.app_id,
        subject_ref=row.subject_ref,
        requested_at=row.requested_at,
        completed_at=row.completed_at,
        items=dict(row.items),
    )


class ExportItem(BaseModel):
    """One stored value about the person: what, where from, why, on what legal basis, until when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: DataCategory
    element: DataElement | None  # None: a stored field the policy does not name yet
    purposes: tuple[Purpose, ...]
    legal_basis: tuple[LegalBasis, ...] = ()
    kind: str
    source: str = ""
    table: str
    column: str
    field: str | None = None
    record: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None  # when it is deleted at the latest (retention)
    retention: RetentionKind | None = None
    file: str | None = None  # the file's name inside the export archive
    value: Any = Field(default=None, repr=False)


class ExportFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    media_type: str
    bytes: int


class SubjectExport(BaseModel):
    """Everything held about one person (``GET /v1/privacy/subjects/{id}``, ``openkyc users export``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str  # end_user | staff_user
    app_id: int | None = None
    subject_id: str | None = Field(default=None, repr=False)
    biz_tokens: tuple[str, ...] = Field(default=(), repr=False)
    account_id: int | None = None
    user_id: int | None = None
    generated_at: datetime
    legal_basis_of_answer: str = "legal obligation (GDPR Art. 6(1)(c), Art. 15 and 20)"
    items: tuple[ExportItem, ...] = ()
    consents: tuple[dict[str, Any], ...] = ()
    files: tuple[ExportFile, ...] = ()

    def categories(self) -> set[DataCategory]:
        return {item.category for item in self.items}
