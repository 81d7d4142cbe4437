"""Diagnostic and usage data: one call record per request, never with payloads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from openkyc.store.base import Base


class CallRecord(Base):
    __tablename__ = "call_records"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    app_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    secret_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(128))
    status_code: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(96))
    result_code: Mapped[str | None] = mapped_column(String(96))
    billable: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_ms: Mapped[float]
    client_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
