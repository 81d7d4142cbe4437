"""Console sign-in: argon2id passwords, lockout after repeated failures, server-side sessions.

The browser holds a random token in an HttpOnly, SameSite=Strict cookie; the database holds only
its SHA-256 (a stolen database row signs no one in) and the session's CSRF token, which every
form posts back. After ``max_failures`` consecutive wrong passwords the user is locked for
``lockout``; a locked user is refused even with the right password. Sign-ins, failures that lock,
and sign-outs are audited under the user's pseudonym (never the user name).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openkyc.accounts.passwords import hash_password, verify_password
from openkyc.errors import AccountLocked, InvalidParameterValue, LoginFailed
from openkyc.privacy import audit
from openkyc.store.models.accounts import ConsoleSession, User

__all__ = ["Policy", "SignedIn", "csrf_ok", "log_in", "log_out", "resolve"]

_DUMMY_HASH: str | None = None


@dataclass(frozen=True)
class Policy:
    session_hours: float = 8.0
    max_failures: int = 5
    lockout_minutes: float = 15.0


@dataclass(frozen=True, repr=False)
class SignedIn:
    user_id: int
    account_id: int
    user_name: str
    role: str
    token: str  # the cookie value: never stored, never logged
    csrf_token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"SignedIn(user_id={self.user_id}, role={self.role!r})"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _dummy_verify(password: str) -> None:
    """Spends the time of one argon2 verification, so an unknown user name answers as slowly."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    verify_password(_DUMMY_HASH, password)


def _audit(session: Session, actor: str, action: str, **details: object) -> None:
    audit.append(session, audit.AuditEvent.ACCOUNT_EVENT, actor=actor, details={"action": action, **details})


def log_in(
    session: Session,
    user_name: str,
    password: str,
    *,
    now: datetime,
    policy: Policy,
    actor_of: Callable[[User], str],
    account_id: int | None = None,
) -> SignedIn | LoginFailed | AccountLocked:
    """Checks the password; a new session on success. A refusal is *returned* (:class:`LoginFailed`,
    401, or :class:`AccountLocked`, 423) so that the caller commits the failure count before it
    raises it; a raise here would roll the count back."""
    query = select(User).where(User.user_name == user_name)
    if account_id is not None:
        query = query.where(User.account_id == account_id)
    found = list(session.scalars(query.with_for_update()))
    if len(found) > 1:
        raise InvalidParameterValue(
            "This user name exists in several accounts: give the account id.", code="InvalidParameterValue.AccountId"
        )
    if not found or found[0].disabled:
        _dummy_verify(password)
        return LoginFailed()
    user = found[0]
    if user.locked_until is not None and user.locked_until > now:
        return AccountLocked()
    if not verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= policy.max_failures:
            user.locked_until = now + timedelta(minutes=policy.lockout_minutes)
            user.failed_logins = 0
            _audit(session, actor_of(user), "console_lockout", account_id=user.account_id)
            session.flush()
            return AccountLocked()
        session.flush()
        return LoginFailed()
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(hours=policy.session_hours)
    session.add(
        ConsoleSession(token_hash=_hash(token), user_id=user.id, csrf_token=csrf, created_at=now, expires_at=expires)
    )
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))  # old sign-ins, anyone's
    _audit(session, actor_of(user), "console_login", account_id=user.account_id)
    session.flush()
    return SignedIn(user.id, user.account_id, user.user_name, user.role, token, csrf, expires)


def resolve(session: Session, token: str | None, now: datetime) -> SignedIn | None:
    """The signed-in user of a cookie, or ``None`` (no cookie, unknown, expired, user disabled)."""
    if not token:
        return None
    row = session.execute(
        select(ConsoleSession, User)
        .join(User, User.id == ConsoleSession.user_id)
        .where(ConsoleSession.token_hash == _hash(token))
    ).first()
    if row is None:
        return None
    console_session, user = row
    if console_session.expires_at <= now or user.disabled:
        return None
    return SignedIn(
        user.id,
        user.account_id,
        user.user_name,
        user.role,
        token,
        console_session.csrf_token,
        console_session.expires_at,
    )


def secrets_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def csrf_ok(signed_in: SignedIn, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(signed_in.csrf_token, str(sent))


def log_out(session: Session, token: str, actor: str) -> None:
    account_id = session.scalar(
        select(User.account_id)
        .join(ConsoleSession, ConsoleSession.user_id == User.id)
        .where(ConsoleSession.token_hash == _hash(token))
    )
    deleted = session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    if getattr(deleted, "rowcount", 0):
        _audit(session, actor, "console_logout", account_id=account_id)
