"""Privacy tables: consents, the hash-chained audit log, erasure receipts, consented items.

``app_id`` columns carry no foreign key here; the migration that creates these tables adds the
foreign keys to ``apps``. None of these tables holds images, templates or document fields:
``model_improvement_items`` points at blobs by reference only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openkyc.store.base import Base

__all__ = ["AuditRecord", "Consent", "ErasureReceiptRow", "ModelImprovementItem"]


class Consent(Base):
    """One grant of explicit consent; withdrawal sets ``withdrawn_at`` (history is kept)."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_lookup", "app_id", "subject_id", "purpose", "withdrawn_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[int] = mapped_column(BigInteger)
    subject_id: Mapped[str] = mapped_column(String(128))  # keyed hash (SubjectKeys.subject_ref)
    purpose: Mapped[str] = mapped_column(String(48))
    text_version: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"Consent(id={self.id!r}, app_id={self.app_id!r}, purpose={self.purpose!r})"


class AuditRecord(Base):
    """One audit event. ``hash`` chains it to the record before; ``mac`` signs ``hash`` with the
    audit key (NULL only on records written before signing began). See openkyc.privacy.audit."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    app_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(48), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"AuditRecord(seq={self.seq!r}, event_type={self.event_type!r})"


class AuditKeyRow(Base):
    """The audit log's signing key, wrapped by the master key (unusable without it)."""

    __tablename__ = "audit_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"AuditKeyRow(id={self.id!r}, master_key_id={self.master_key_id!r})"


class ErasureReceiptRow(Base):
    """What an erasure removed: kinds and counts only; the subject only as a salted hash."""

    __tablename__ = "erasure_receipts"

    receipt_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    app_id: Mapped[int] = mapped_column(BigInteger, index=True)
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)
    requested_at: Mapped[datetime]
    completed_at: Mapped[datetime]
    items: Mapped[dict[str, int]] = mapped_column(JSON)


class ModelImprovementItem(Base):
    """A consented evaluation item (by blob reference); removed when consent is withdrawn."""

    __tablename__ = "model_improvement_items"
    __table_args__ = (Index("ix_model_improvement_items_subject", "app_id", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[int] = mapped_column(BigInteger)
    subject_id: Mapped[str] = mapped_column(String(128))  # keyed hash
    consent_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(48))
    blob_ref: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"ModelImprovementItem(id={self.id!r}, kind={self.kind!r})"
