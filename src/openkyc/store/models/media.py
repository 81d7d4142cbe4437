"""Encrypted blobs (face images, videos, document images) with their expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from openkyc.store.base import Base


class Blob(Base):
    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(128), index=True)  # keyed hash
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    # the rule the file was stored under (NULL: none); the sweep applies that rule's media_hours to it.
    # False on rows older than migration 0018 (rule not recorded): the app's shortest media_hours applies.
    rule_id: Mapped[str | None] = mapped_column(String(64))
    rule_recorded: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())
