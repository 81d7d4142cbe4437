"""Liveness data: single-use timed challenges (schedules of actions and colours, no personal data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from openkyc.store.base import Base


class LivenessChallengeRow(Base):
    """A challenge issued to an app (and, for a hosted verification, to one session): consumed once
    by a conditional update of ``used_at``; deleted after ``expires_at`` by the retention sweep."""

    __tablename__ = "liveness_challenges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    session_ref: Mapped[str | None] = mapped_column(String(128), index=True)  # keyed hash of a BizToken
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
