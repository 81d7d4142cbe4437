"""Accounts, users, apps and credentials: the service layer (owns transactions' content)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openkyc.accounts import ids
from openkyc.accounts.passwords import hash_password
from openkyc.accounts.roles import Role
from openkyc.errors import AppDisabled, CredentialDisabled, InvalidParameterValue, ResourceNotFound, SecretIdNotFound
from openkyc.privacy import audit
from openkyc.privacy.crypto import Keyring
from openkyc.store.models.accounts import Account, App, Credential, User


@dataclass(frozen=True, repr=False)
class IssuedCredential:
    """A new credential; the secret key is shown to the caller this once and never again."""

    app_id: int
    secret_id: str
    secret_key: str

    def __repr__(self) -> str:
        return f"IssuedCredential(app_id={self.app_id}, secret_id={self.secret_id!r}, secret_key='***')"


@dataclass(frozen=True, repr=False)
class Caller:
    """The authenticated caller of an API request."""

    account_id: int
    app_id: int
    app_name: str
    secret_id: str
    qps_limit: int | None = None  # the app's own limits; None: the service default
    monthly_quota: int | None = None

    def __repr__(self) -> str:
        return f"Caller(account_id={self.account_id}, app_id={self.app_id})"


def _now() -> datetime:
    return datetime.now(UTC)


def _aad(secret_id: str) -> bytes:
    return f"credential:{secret_id}".encode()


def create_account(session: Session, name: str) -> Account:
    account = Account(id=ids.numeric_id(), name=name, created_at=_now())
    session.add(account)
    session.flush()
    return account


def create_user(
    session: Session, account_id: int, user_name: str, password: str, role: Role, *, actor: str = "admin"
) -> User:
    if not user_name or len(user_name) > 64:
        raise InvalidParameterValue("The user name must have 1 to 64 characters.")
    if len(password) < 12:
        raise InvalidParameterValue("The password must have at least 12 characters.")
    exists = session.scalar(select(User).where(User.account_id == account_id, User.user_name == user_name))
    if exists is not None:
        raise InvalidParameterValue("A user with that name already exists in the account.")
    user = User(
        account_id=account_id,
        user_name=user_name,
        password_hash=hash_password(password),
        role=role.value,
        disabled=False,
        created_at=_now(),
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        audit.AuditEvent.ACCOUNT_EVENT,
        actor=actor,
        details={"action": "user_create", "account_id": account_id, "user_id": user.id, "role": role.value},
    )
    return user


def create_app(session: Session, account_id: int, name: str, *, actor: str = "admin") -> App:
    if not name or len(name) > 128:
        raise InvalidParameterValue("The app name must have 1 to 128 characters.")
    if session.get(Account, account_id) is None:
        raise ResourceNotFound("The account does not exist.", code="ResourceNotFound.Account")
    app = App(id=ids.numeric_id(), account_id=account_id, name=name, created_at=_now())
    session.add(app)
    session.flush()
    audit.append(
        session,
        audit.AuditEvent.ACCOUNT_EVENT,
        actor=actor,
        app_id=app.id,
        details={"action": "app_create", "account_id": account_id},
    )
    return app


def set_app_disabled(session: Session, app_id: int, disabled: bool, *, actor: str = "admin") -> App:
    """Disables an app (every credential of it is refused with ``AuthFailure.AppDisabled``) or enables it."""
    app = session.get(App, app_id)
    if app is None:
        raise ResourceNotFound("The app does not exist.", code="ResourceNotFound.App")
    app.disabled_at = _now() if disabled else None
    audit.append(
        session,
        audit.AuditEvent.ACCOUNT_EVENT,
        actor=actor,
        app_id=app_id,
        details={"action": "app_disable" if disabled else "app_enable"},
    )
    return app


LIMIT_MAX = 2**31 - 1
"""The largest QPS limit or monthly quota: the columns are 32-bit integers (PostgreSQL refused a
larger value, SQLite beyond 64 bits, both as an unexpected error)."""


class Keep(Enum):
    """Leave a setting as it is (``None`` means "back to the service default")."""

    UNCHANGED = "unchanged"


UNCHANGED = Keep.UNCHANGED


def set_app_limits(
    session: Session,
    app_id: int,
    *,
    qps_limit: int | Keep | None = UNCHANGED,
    monthly_quota: int | Keep | None = UNCHANGED,
    actor: str = "admin",
) -> App:
    """Sets an app's request rate and monthly quota (``None``: back to the service default)."""
    app = session.get(App, app_id)
    if app is None:
        raise ResourceNotFound("The app does not exist.", code="ResourceNotFound.App")
    changes: dict[str, int | None] = {}
    if not isinstance(qps_limit, Keep):
        if qps_limit is not None and not 1 <= qps_limit <= LIMIT_MAX:
            raise InvalidParameterValue(f"The QPS limit must be a whole number from 1 to {LIMIT_MAX}.")
        app.qps_limit = qps_limit
        changes["qps_limit"] = qps_limit
    if not isinstance(monthly_quota, Keep):
        if monthly_quota is not None and not 0 <= monthly_quota <= LIMIT_MAX:
            raise InvalidParameterValue(f"The monthly quota must be a whole number from 0 to {LIMIT_MAX}.")
        app.monthly_quota = monthly_quota
        changes["monthly_quota"] = monthly_quota
    if changes:
        audit.append(
            session, audit.AuditEvent.CONFIG_CHANGE, actor=actor, app_id=app_id, details={"app_limits": changes}
        )
    return app


def _audit_credential(session: Session, action: str, app_id: int, actor: str, **ids_: str) -> None:
    """A ``credential_event`` audit record (secret ids only, never keys)."""
    audit.append(
        session, audit.AuditEvent.CREDENTIAL_EVENT, actor=actor, app_id=app_id, details={"action": action, **ids_}
    )


def create_credential(session: Session, keyring: Keyring, app_id: int, *, actor: str = "admin") -> IssuedCredential:
    if session.get(App, app_id) is None:
        raise ResourceNotFound("The app does not exist.", code="ResourceNotFound.App")
    secret_id, secret_key = ids.secret_id(), ids.secret_key()
    session.add(
        Credential(
            secret_id=secret_id,
            app_id=app_id,
            secret_key_enc=keyring.encrypt_text(secret_key, _aad(secret_id)),
            status="active",
            created_at=_now(),
        )
    )
    session.flush()
    _audit_credential(session, "create", app_id, actor, secret_id=secret_id)
    return IssuedCredential(app_id=app_id, secret_id=secret_id, secret_key=secret_key)


def _credential(session: Session, secret_id: str) -> Credential:
    credential = session.scalar(select(Credential).where(Credential.secret_id == secret_id))
    if credential is None:
        raise ResourceNotFound("The credential does not exist.", code="ResourceNotFound.Credential")
    return credential


def disable_credential(session: Session, secret_id: str, *, actor: str = "admin") -> None:
    credential = _credential(session, secret_id)
    credential.status = "disabled"
    credential.disabled_at = _now()
    _audit_credential(session, "disable", credential.app_id, actor, secret_id=secret_id)


def rotate_credential(
    session: Session, keyring: Keyring, secret_id: str, *, keep_old: bool = False, actor: str = "admin"
) -> IssuedCredential:
    """A new credential for the same app; the old one is disabled unless ``keep_old``."""
    old = _credential(session, secret_id)
    if not keep_old:
        # conditional: of concurrent rotations of one credential exactly one wins, the others are refused
        changed = session.execute(
            update(Credential)
            .where(Credential.secret_id == secret_id, Credential.status == "active")
            .values(status="disabled", disabled_at=_now())
            .execution_options(synchronize_session=False)
        )
        if not getattr(changed, "rowcount", 0):
            raise InvalidParameterValue(
                "Only an active credential can be rotated.", code="InvalidParameterValue.CredentialDisabled"
            )
    issued = create_credential(session, keyring, old.app_id, actor=actor)
    if not keep_old:
        _audit_credential(session, "disable", old.app_id, actor, secret_id=secret_id)
    _audit_credential(session, "rotate", old.app_id, actor, secret_id=issued.secret_id, old_secret_id=secret_id)
    return issued


def list_credentials(session: Session, app_id: int) -> list[Credential]:
    return list(session.scalars(select(Credential).where(Credential.app_id == app_id).order_by(Credential.id)))


def resolve_secret(session: Session, keyring: Keyring, secret_id: str) -> tuple[Caller, str]:
    """The caller behind ``secret_id`` and its secret key, for signature verification."""
    row = session.execute(
        select(Credential, App).join(App, App.id == Credential.app_id).where(Credential.secret_id == secret_id)
    ).first()
    if row is None:
        raise SecretIdNotFound()
    credential, app = row
    if credential.status != "active":
        raise CredentialDisabled()
    if app.disabled_at is not None:
        raise AppDisabled()
    secret_key = keyring.decrypt_text(credential.secret_key_enc, _aad(secret_id))
    caller = Caller(
        account_id=app.account_id,
        app_id=app.id,
        app_name=app.name,
        secret_id=secret_id,
        qps_limit=app.qps_limit,
        monthly_quota=app.monthly_quota,
    )
    return caller, secret_key


def touch_credential(session: Session, secret_id: str) -> None:
    credential = session.scalar(select(Credential).where(Credential.secret_id == secret_id))
    if credential is not None:
        credential.last_used_at = _now()
