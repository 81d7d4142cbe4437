"""Timed challenges: issued to an app (and optionally one hosted session), consumed exactly once.

:meth:`ChallengeService.issue` draws a schedule (:func:`openkyc.liveness.challenge.new_schedule`)
and stores it with a 128-bit random id for ``ttl`` (10 minutes). :meth:`ChallengeService.claim`
(or :meth:`claim_in`, inside a caller's transaction) marks it used by one conditional update
(``UPDATE ... WHERE used_at IS NULL``), so of two concurrent checks for one challenge exactly one
proceeds, on SQLite and PostgreSQL alike. A challenge of another app, an expired one and an unknown
one all answer ``ResourceNotFound.LivenessChallenge``; a challenge bound to a hosted session is
refused anywhere else, and a challenge of no session is refused inside a hosted session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from openkyc.errors import InvalidParameterValue, ResourceNotFound
from openkyc.liveness.challenge import ChallengeConfig, Schedule, new_schedule
from openkyc.privacy.access import DataAccess
from openkyc.store.models.liveness import LivenessChallengeRow

CHALLENGE_TTL = timedelta(minutes=10)
NOT_FOUND = "ResourceNotFound.LivenessChallenge"
USED = "InvalidParameterValue.LivenessChallengeUsed"
WRONG_SESSION = "InvalidParameterValue.LivenessChallengeSession"


@dataclass(frozen=True)
class Challenge:
    """An issued challenge: ``schedule`` is the JSON form of :class:`Schedule`."""

    challenge_id: str
    schedule: dict[str, Any]
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"challenge_id": self.challenge_id, "schedule": self.schedule, "expires_at": self.expires_at.isoformat()}


class ChallengeService:
    """Issues and claims challenges through :class:`DataAccess` (short transactions only)."""

    def __init__(
        self, data: DataAccess, *, config: ChallengeConfig | None = None, ttl: timedelta = CHALLENGE_TTL
    ) -> None:
        self.data = data
        self.config = config or ChallengeConfig()
        self.ttl = ttl

    def issue(self, app_id: int, *, session_ref: str | None = None, reflection: bool = False) -> Challenge:
        schedule = new_schedule(reflection=reflection, config=self.config)
        now = self.data.clock()
        row = LivenessChallengeRow(
            id=secrets.token_urlsafe(16),
            app_id=app_id,
            session_ref=session_ref,
            schedule=schedule.to_dict(),
            created_at=now,
            expires_at=now + self.ttl,
            used_at=None,
        )
        with self.data.transaction() as session:
            session.add(row)
        return Challenge(row.id, row.schedule, row.expires_at)

    def claim(self, app_id: int, challenge_id: str, *, session_ref: str | None = None) -> Schedule:
        """Consume the challenge in a transaction of its own and return its schedule."""
        with self.data.transaction() as session:
            return self.claim_in(session, app_id, challenge_id, session_ref=session_ref)

    def claim_in(self, session: Session, app_id: int, challenge_id: str, *, session_ref: str | None = None) -> Schedule:
        """Consume the challenge inside the caller's transaction (committed with it)."""
        now = self.data.clock()
        row = session.get(LivenessChallengeRow, challenge_id)
        if row is None or row.app_id != app_id or row.expires_at <= now:
            raise ResourceNotFound("The liveness challenge does not exist or has expired.", code=NOT_FOUND)
        if row.session_ref != session_ref:
            raise InvalidParameterValue("The liveness challenge belongs to another session.", code=WRONG_SESSION)
        claimed = session.execute(
            update(LivenessChallengeRow)
            .where(LivenessChallengeRow.id == challenge_id, LivenessChallengeRow.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidParameterValue("The liveness challenge was already used.", code=USED)
        return Schedule.from_dict(row.schedule)


def delete_expired(session: Session, now: datetime) -> int:
    """Delete challenges past their expiry (the retention sweep's housekeeping step)."""
    result = session.execute(
        delete(LivenessChallengeRow)
        .where(LivenessChallengeRow.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
