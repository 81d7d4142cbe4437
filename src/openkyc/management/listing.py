"""Paged, filtered lists for operators. Each states its purpose to the gate before it reads, and
shows metadata only: no identification fields, images, subject ids of verifications, or tokens.

``Scope`` is who asks: an account, the app in view, and a role (API credentials act as ``admin``
of their account; console users with their own role).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, and_, cast, or_, select
from sqlalchemy.orm import Session

from openkyc.accounts.roles import Permission, require
from openkyc.biometrics.repository import SubjectRepository
from openkyc.errors import InvalidParameterValue, ResourceNotFound
from openkyc.management.paging import Page, page
from openkyc.privacy.crypto import Keyring
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import use
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.store.models.accounts import App, Credential, Resource, User
from openkyc.store.models.config import Rule
from openkyc.store.models.faces import Collection, Subject
from openkyc.store.models.privacy import AuditRecord
from openkyc.store.models.verification import VerificationResult, VerificationSession
from openkyc.store.models.webhooks import WebhookDeliveryRow

__all__ = ["Scope", "iso"]

E = DataElement
ACCOUNT_ELEMENTS = (E.ACCOUNT_ID, E.APP_ID, E.RESOURCE_NAME, E.SERVICE_SETTINGS)
STATUS_ELEMENTS = (E.APP_ID, E.OPERATION_STATUS)


@dataclass(frozen=True)
class Scope:
    """Who asks: the account, the app in view (``None``: none chosen yet), the role, the audit actor."""

    account_id: int
    app_id: int | None
    role: str
    actor: str

    def app(self, session: Session, app_id: int | None = None) -> int:
        """``app_id`` (default: the app in view), checked to belong to the account (else 404)."""
        wanted = app_id if app_id is not None else self.app_id
        if wanted is None:
            raise InvalidParameterValue("Name an app (app_id).", code="InvalidParameterValue.AppId")
        if not -(2**63) <= wanted < 2**63:  # no app has it, and no database column can hold it
            raise ResourceNotFound("The app does not exist.", code="ResourceNotFound.App")
        found = session.scalar(select(App.id).where(App.id == wanted, App.account_id == self.account_id))
        if found is None:
            raise ResourceNotFound("The app does not exist.", code="ResourceNotFound.App")
        return int(found)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _utc(value: datetime) -> datetime:
    """A time given without an offset (or a bare date) is UTC, like every time the API answers."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _since_until(query: Any, column: Any, since: datetime | None, until: datetime | None) -> Any:
    """``since`` inclusive, ``until`` exclusive."""
    if since is not None:
        query = query.where(column >= _utc(since))
    if until is not None:
        query = query.where(column < _utc(until))
    return query


# --- account ------------------------------------------------------------------------------------


def app_view(app: App) -> dict[str, Any]:
    return {
        "app_id": app.id,
        "name": app.name,
        "created_at": iso(app.created_at),
        "disabled": app.disabled_at is not None,
        "disabled_at": iso(app.disabled_at),
        "qps_limit": app.qps_limit,
        "monthly_quota": app.monthly_quota,
    }


def apps(
    session: Session, gate: PurposeGate, scope: Scope, *, limit: int | None, cursor: str | None, disabled: bool | None
) -> Page[App]:
    require(scope.role, Permission.VIEW)
    use(gate, Purpose.MAINTAIN_CONFIGURATION, ACCOUNT_ELEMENTS, what="management.apps")
    query = select(App).where(App.account_id == scope.account_id)
    if disabled is not None:
        query = query.where(App.disabled_at.is_not(None) if disabled else App.disabled_at.is_(None))
    return page(session, query, when=App.created_at, key=App.id, limit=limit, cursor=cursor)


def credential_view(credential: Credential) -> dict[str, Any]:
    return {
        "secret_id": credential.secret_id,
        "app_id": credential.app_id,
        "status": credential.status,
        "created_at": iso(credential.created_at),
        "last_used_at": iso(credential.last_used_at),
        "disabled_at": iso(credential.disabled_at),
    }


def credentials(
    session: Session,
    gate: PurposeGate,
    scope: Scope,
    *,
    app_id: int | None,
    limit: int | None,
    cursor: str | None,
    status: str | None,
) -> Page[Credential]:
    require(scope.role, Permission.VIEW)
    use(gate, Purpose.MAINTAIN_CONFIGURATION, (E.APP_ID, E.SECURITY_SETTINGS), what="management.credentials")
    query = select(Credential).where(Credential.app_id == scope.app(session, app_id))
    if status is not None:
        query = query.where(Credential.status == status)
    return page(session, query, when=Credential.created_at, key=Credential.id, limit=limit, cursor=cursor)


def user_view(user: User) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "user_name": user.user_name,
        "role": user.role,
        "disabled": user.disabled,
        "locked": user.locked_until is not None
        and _utc(user.locked_until) > datetime.now(UTC),  # an ended lockout is not one
        "created_at": iso(user.created_at),
        "last_login_at": iso(user.last_login_at),
    }


def users(
    session: Session, gate: PurposeGate, scope: Scope, *, limit: int | None, cursor: str | None, role: str | None
) -> Page[User]:
    require(scope.role, Permission.VIEW)
    use(gate, Purpose.MAINTAIN_CONFIGURATION, (E.USER_ID, E.USER_NAME, E.SECURITY_SETTINGS), what="management.users")
    query = select(User).where(User.account_id == scope.account_id)
    if role is not None:
        query = query.where(User.role == role)
    return page(session, query, when=User.created_at, key=User.id, limit=limit, cursor=cursor)


# --- configuration and resources ------------------------------------------------------------------


def rules(
    session: Session,
    gate: PurposeGate,
    scope: Scope,
    *,
    app_id: int | None,
    limit: int | None,
    cursor: str | None,
    name: str | None,
) -> Page[tuple[Rule, str]]:
    require(scope.role, Permission.VIEW)
    use(gate, Purpose.MAINTAIN_CONFIGURATION, (E.RULE, E.RESOURCE_ATTRIBUTES), what="management.rules")
    query = select(Rule, Resource.name).join(Resource, Resource.id == Rule.id)
    query = query.where(Rule.app_id == scope.app(session, app_id))
    if name:
        query = query.where(Resource.name.contains(name, autoescape=True))
    return page(session, query, when=Rule.created_at, key=Rule.id, limit=limit, cursor=cursor, row=_pair)


def _pair(row: Sequence[Any]) -> tuple[Any, Any]:
    return row[0], row[1]


def rule_summary(item: tuple[Rule, str]) -> dict[str, Any]:
    rule, name = item
    return {
        "rule_id": rule.id,
        "name": name,
        "version": rule.version,
        "created_at": iso(rule.created_at),
        "updated_at": iso(rule.updated_at),
    }


def collections(
    session: Session,
    gate: PurposeGate,
    scope: Scope,
    *,
    app_id: int | None,
    limit: int | None,
    cursor: str | None,
    name: str | None,
) -> Page[tuple[Collection, str]]:
    require(scope.role, Permission.VIEW)
    use(gate, Purpose.PROVIDE_FEATURES, (E.RESOURCE_NAME, E.RESOURCE_ATTRIBUTES), what="management.collections")
    query = select(Collection, Resource.name).join(Resource, Resource.id == Collection.id)
    query = query.where(Collection.app_id == scope.app(session, app_id))
    if name:
        query = query.where(Resource.name.contains(name, autoescape=True))
    result: Page[tuple[Collection, str]] = page(
        session, query, when=Collection.created_at, key=Collection.id, limit=limit, cursor=cursor, row=_pair
    )
    return result


def collection_summary(item: tuple[Collection, str], counts: dict[str, int]) -> dict[str, Any]:
    collection, name = item
    return {
        "collection_id": collection.id,
        "name": name,
        "duplicate_check": collection.duplicate_check,
        "embedder": collection.embedder,
        "subject_count": counts.get(collection.id, 0),
        "created_at": iso(collection.created_at),
    }


def subject_counts(session: Session, gate: PurposeGate, app_id: int, collection_ids: list[str]) -> dict[str, int]:
    from sqlalchemy import func

    if not collection_ids:
        return {}
    use(gate, Purpose.PROVIDE_FEATURES, (E.TEMPLATE,), what="management.subject_counts")
    rows = session.execute(
        select(Subject.collection_id, func.count())
        .where(Subject.app_id == app_id, Subject.collection_id.in_(collection_ids))
        .group_by(Subject.collection_id)
    ).all()
    return {str(c): int(n) for c, n in rows}


def subjects(
    session: Session,
    gate: PurposeGate,
    keyring: Keyring,
    scope: Scope,
    *,
    app_id: int | None,
    collection_id: str,
    limit: int | None,
    cursor: str | None,
) -> Page[dict[str, Any]]:
    """Enrolled subjects of a collection: id, times, template version, flags (never the content)."""
    require(scope.role, Permission.VIEW)
    gate.check(Purpose.PROVIDE_FEATURES, [E.TEMPLATE, E.SUBJECT_ID], app_id=scope.app_id)
    app = scope.app(session, app_id)
    found = session.scalar(select(Collection.id).where(Collection.id == collection_id, Collection.app_id == app))
    if found is None:
        raise ResourceNotFound("The collection does not exist.", code="ResourceNotFound.Collection")
    query = select(Subject).where(Subject.app_id == app, Subject.collection_id == collection_id)
    rows: Page[Subject] = page(session, query, when=Subject.created_at, key=Subject.id, limit=limit, cursor=cursor)
    repo = SubjectRepository(session, gate, keyring)
    items = repo.metadata(app, rows.items, purpose=Purpose.PROVIDE_FEATURES)
    return Page(items, rows.next_cursor)


# --- outcomes: verifications, sessions, deliveries, audit ----------------------------------------------


def verification_view(row: VerificationResult) -> dict[str, Any]:
    """Redacted: no subject id, no identification fields, no scores' evidence."""
    return {
        "verification_id": row.id,
        "kind": row.kind,
        "Result": row.result_code,
        "live": row.live,
        "has_subject": row.subject_id is not None,
        "created_at": iso(row.created_at),
        "expires_at": iso(row.expires_at),
    }


def verifications(
    session: Session,
    gate: PurposeGate,
    scope: Scope,
    *,
    app_id: int | None,
    limit: int | None,
    cursor: str | None,
    kind: str | None,
    result: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Page[VerificationResult]:
    require(scope.role, Permission.VIEW)
    use(gate, Purpose.TROUBLESHOOTING, STATUS_ELEMENTS, what="management.verifications")
    query = select(VerificationResult).where(VerificationResult.app_id == scope.app(session, app_id))
    if kind:
        query = query.where(VerificationResult.kind == kind)
    if result:
        query = query.where(VerificationResult.result_code == result)
    query = _since_until(query, VerificationResult.created_at, since, until)
    return page(
        session, query, when=VerificationResult.created_at, key=VerificationResult.id, limit=limit, cursor=cursor
    )


def session_view(row: VerificationSession, now: datetime) -> dict[str, Any]:
    """Redacted: the BizToken is never shown (only a reference to its keyed hash), nor ``extra``."""
    state = "expired" if row.state == "created" and row.expires_at <= now else row.state
    return {
        "session_ref": row.biz_token[:16],
        "rule_id": row.rule_id,
        "state": state,
        "attempts": row.attempts,
        "verification_id": row.result_id,
        "actions": row.actions,
        "created_at": iso(row.created_at),
        "expires_at": iso(row.expires_at),
    }


def sessions(
    session: Session,
    gate: PurposeGate,
    scope: Scope,
    *,
    app_id: int | None,
    limit: int | None,
    cursor: str | None,
    state: str | None,
) -> Page[VerificationSession]:
    require(scope.role, Permission.VIEW)
    use(gate, Purpose.TROUBLESHOOTING, STATUS_ELEMENTS, what="management.sessions")
    query = select(VerificationSession).where(VerificationSession.app_id == scope.app(session, app_id))
    if state:
        query = query.where(VerificationSession.state == state)
    return page(
        session,
        query,
        when=VerificationSession.created_at,
        key=VerificationSession.biz_token,
        limit=limit,
        cursor=cursor,
    )


def delivery_view(row: WebhookDeliveryRow) -> dict[str, Any]:
    return {
        "delivery_id": row.id,
        "app_id": row.app_id,
        "event": row.event,
        "url": row.url,
        "state": row.state,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "next_attempt_at": iso(row.next_attempt_at),
        "created_at": iso(row.created_at),
        "delivered_at": iso(row.delivered_at),
        "history": list(row.history or []),
    }


def deliveries(
    session: Session,
    gate: PurposeGate,
    scope: Scope,
    *,
    app_id: int | None,
    limit: int | None,
    cursor: str | None,
    state: str | None,
    event: str | None,
) -> Page[WebhookDeliveryRow]:
    require(scope.role, Permission.VIEW)
    use(gate, Purpose.TROUBLESHOOTING, STATUS_ELEMENTS, what="management.webhook_deliveries")
    query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.app_id == scope.app(session, app_id))
    if state:
        query = query.where(WebhookDeliveryRow.state == state)
    if event:
        query = query.where(WebhookDeliveryRow.event == event)
    return page(
        session, query, when=WebhookDeliveryRow.created_at, key=WebhookDeliveryRow.id, limit=limit, cursor=cursor
    )


def audit_view(row: AuditRecord) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "created_at": iso(row.created_at),
        "app_id": row.app_id,
        "actor": row.actor,
        "event_type": row.event_type,
        "details": row.details,
        "hash": row.hash,
    }


def audit_log(
    session: Session,
    gate: PurposeGate,
    scope: Scope,
    *,
    limit: int | None,
    cursor: str | None,
    event_type: str | None,
    app_id: int | None,
) -> Page[AuditRecord]:
    """The account's audit records: those of its apps and the account-level ones naming it."""
    require(scope.role, Permission.VIEW_AUDIT)
    use(gate, Purpose.MAINTAIN_CONFIGURATION, (E.APP_ID, E.USER_NAME), what="management.audit_log")
    app_ids = select(App.id).where(App.account_id == scope.account_id)
    account_level = and_(
        AuditRecord.app_id.is_(None),
        cast(AuditRecord.details["account_id"].as_string(), BigInteger) == scope.account_id,
    )
    query = select(AuditRecord).where(or_(AuditRecord.app_id.in_(app_ids), account_level))
    if app_id is not None:
        query = query.where(AuditRecord.app_id == scope.app(session, app_id))
    if event_type:
        query = query.where(AuditRecord.event_type == event_type)
    return page(session, query, when=AuditRecord.created_at, key=AuditRecord.seq, limit=limit, cursor=cursor)
