"""Webhook deliveries: the outbox and the delivery log in one row per event.

A row is written in the same transaction as the result it announces (state ``pending``), so an
event cannot be lost between the commit and the enqueue: the job reads the row, and rows still
pending past their ``next_attempt_at`` are enqueued again. The body holds ids and result codes only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openkyc.store.base import Base


class WebhookDeliveryRow(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the delivery id, the same on every retry
    app_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)  # HTTP status; None: no answer
    last_error: Mapped[str | None] = mapped_column(String(128), default=None)  # e.g. "answered 500", never a body
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    # one entry per attempt: {"at", "status", "error"} (the last 20), never a body
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
