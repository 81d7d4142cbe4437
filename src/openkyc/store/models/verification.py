"""Verification data: single-use reflection colour sequences and verification results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from openkyc.store.base import Base


class ReflectSequenceRow(Base):
    __tablename__ = "reflect_sequences"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class VerificationResult(Base):
    """One verification's outcome. ``details`` holds codes, scores and evidence only; fields read
    from a document are sealed in ``identification_enc``, under the subject's key (or, with no
    subject, a key of the record's own that expires with it). Kept 3 days by default.

    ``rule_id`` is the rule the result was made under (NULL: made with the defaults, no rule); the
    sweep applies that rule's ``result_hours`` (as it reads now) to the row and no other rule's.
    ``rule_recorded`` is False on rows written before migration 0018, which did not record their
    rule: those keep the older treatment, the shortest ``result_hours`` of their app's rules.
    """

    __tablename__ = "verification_results"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str | None] = mapped_column(String(128), index=True)  # keyed hash
    subject_id_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed under the subject key
    result_code: Mapped[str] = mapped_column(String(96))
    live: Mapped[bool | None] = mapped_column(Boolean)
    sim: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    identification_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    rule_id: Mapped[str | None] = mapped_column(String(64))
    rule_recorded: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())


class VerificationSession(Base):
    """A hosted verification (BizToken): the end user opens ``/verify/{biz_token}``.

    The reference photo is a sealed blob (2 hours at most); ``extra_enc`` is the customer's
    pass-through data, sealed because it may hold personal data. ``check_mode`` names the steps
    (NULL on rows older than migration 0015: derived from the reference photo); ``consent_id`` is
    the end user's recorded agreement to the notice; ``last_attempt_id`` and ``last_reply`` answer
    a retried upload of the same attempt again instead of counting it twice. ``document_options``
    (migration 0017) is what the creator asked of the document step over the rule (the document
    types it takes, whether an expired one passes: Tencent's ``IDCardType``/``AllowExpiredDocument``).
    """

    __tablename__ = "verification_sessions"

    biz_token: Mapped[str] = mapped_column(String(64), primary_key=True)  # keyed hash of the token
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str | None] = mapped_column(String(64))
    redirect_url: Mapped[str] = mapped_column(String(2048))
    compare_blob_id: Mapped[str | None] = mapped_column(String(40))
    extra_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    actions: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    result_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    check_mode: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(16))
    consent_id: Mapped[int | None] = mapped_column(Integer)
    liveness_mode: Mapped[str | None] = mapped_column(String(16))
    last_attempt_id: Mapped[str | None] = mapped_column(String(40))
    last_reply: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    document_options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
