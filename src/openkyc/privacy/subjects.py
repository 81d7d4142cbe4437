"""Subject rights, the data side: erasure receipts and the export (access) structure.

The lead's services do the deletion across tables and collect the items; this module shapes the
results. An :class:`ErasureReceipt` lists only kinds and counts of what was removed, when, and a
receipt id; the subject appears only as :func:`subject_reference`, an HMAC-SHA256 of the app and
subject id under a secret salt, so the receipt (kept after the data is gone) holds no personal
data yet a later request for the same subject can be matched to it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from openkyc.privacy.policy import Policy
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose
from openkyc.store.models.privacy import ErasureReceiptRow

__all__ = [
    "ErasureReceipt",
    "ExportItem",
    "SubjectExport",
    "export_item",
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
    """One piece of data held about the subject, with why it is held and until when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: DataCategory
    element: DataElement
    purposes: tuple[Purpose, ...]
    kind: str
    created_at: datetime | None = None
    expires_at: datetime | None = None
    value: Any = Field(default=None, repr=False)


class SubjectExport(BaseModel):
    """Everything held about one subject of one app (``GET /v1/privacy/subjects/{id}``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: int
    subject_id: str = Field(repr=False)
    generated_at: datetime
    items: tuple[ExportItem, ...] = ()
    consents: tuple[dict[str, Any], ...] = ()

    def categories(self) -> set[DataCategory]:
        return {item.category for item in self.items}


def export_item(
    policy: Policy,
    element: DataElement,
    value: Any,
    *,
    kind: str,
    purposes: Iterable[Purpose] = (Purpose.PROVIDE_FEATURES,),
    created_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> ExportItem:
    """An export item; ``purposes`` must be ones the policy allows for ``element``."""
    chosen = tuple(sorted(set(purposes), key=list(Purpose).index))
    allowed = policy.allowed_purposes(element)
    if not chosen or not set(chosen) <= allowed:
        raise ValueError(f"purposes not allowed by the policy for {element.value}")
    return ExportItem(
        category=element.category,
        element=element,
        purposes=chosen,
        kind=kind,
        created_at=created_at,
        expires_at=expires_at,
        value=value,
    )
