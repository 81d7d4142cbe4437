"""Rules service: create, read and change rules, scoped to one app, keeping every change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openkyc.accounts import ids
from openkyc.config.rules import RuleConfig, RuleIn
from openkyc.errors import ConcurrentUpdate, InvalidParameterValue, IpNotAllowed, ResourceNotFound
from openkyc.privacy import audit
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import use
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.store.models.accounts import Resource
from openkyc.store.models.config import Rule, RuleChange

RULE_NOT_FOUND = "ResourceNotFound.Rule"
# a rule, its name, and who changed it (the credential's SecretId)
RULE_ELEMENTS = (DataElement.RULE, DataElement.RESOURCE_ATTRIBUTES, DataElement.SECURITY_SETTINGS)
_UPDATE_TRIES = 3


def _now() -> datetime:
    return datetime.now(UTC)


def rule_view(rule: Rule, name: str) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "name": name,
        "version": rule.version,
        "config": rule.config,
        "created_at": rule.created_at.isoformat(),
        "updated_at": rule.updated_at.isoformat(),
    }


def _maintain(gate: PurposeGate, app_id: int, what: str) -> None:
    """Reading or changing rules through the API is maintaining the configuration."""
    use(gate, Purpose.MAINTAIN_CONFIGURATION, RULE_ELEMENTS, what=what, app_id=app_id)


def create_rule(session: Session, app_id: int, body: RuleIn, actor: str, *, gate: PurposeGate) -> tuple[Rule, str]:
    _maintain(gate, app_id, "rules.create")
    now = _now()
    rule_id = ids.resource_id("rule")
    config = body.config.model_dump(mode="json")
    try:
        with session.begin_nested():
            session.add(Resource(id=rule_id, app_id=app_id, kind="rule", name=body.name, created_at=now))
            session.flush()
    except IntegrityError as exc:
        raise InvalidParameterValue(
            "A rule with that name already exists.", code="InvalidParameterValue.RuleNameExists"
        ) from exc
    rule = Rule(id=rule_id, app_id=app_id, version=1, config=config, created_at=now, updated_at=now)
    session.add(rule)
    session.flush()
    session.add(
        RuleChange(rule_id=rule_id, version=1, changed_by=actor, changed_at=now, old_config=None, new_config=config)
    )
    session.flush()
    _audit_rule(session, "rule_create", app_id, rule_id, 1, actor)
    return rule, body.name


def _audit_rule(session: Session, action: str, app_id: int, rule_id: str, version: int, actor: str) -> None:
    """A ``config_change`` audit record (ids and version; the configuration is in rule_changes)."""
    audit.append(
        session,
        audit.AuditEvent.CONFIG_CHANGE,
        actor=actor,
        app_id=app_id,
        details={"action": action, "rule_id": rule_id, "version": version},
    )


def get_rule(session: Session, app_id: int, rule_id: str, *, lock: bool = False) -> tuple[Rule, str]:
    """The rule if it belongs to ``app_id``; another app's rule is reported exactly as a missing one.

    ``lock``: read it ``FOR UPDATE`` (PostgreSQL; SQLite has one writer at a time anyway), fresh
    from the database even if the session already holds it.
    """
    query = (
        select(Rule, Resource.name)
        .join(Resource, Resource.id == Rule.id)
        .where(Rule.id == rule_id, Rule.app_id == app_id)
    )
    if lock:
        query = query.with_for_update(of=Rule).execution_options(populate_existing=True)
    row = session.execute(query).first()
    if row is None:
        raise ResourceNotFound("The rule does not exist.", code=RULE_NOT_FOUND)
    return row[0], row[1]


def rule_config(session: Session, app_id: int, rule_id: str | None) -> RuleConfig:
    """The validated configuration of a rule, or the defaults when no rule is named."""
    if rule_id is None:
        return RuleConfig()
    rule, _ = get_rule(session, app_id, rule_id)
    return RuleConfig.model_validate(rule.config)


def admitted_rule(session: Session, app_id: int, rule_id: str | None, client_ip: str | None) -> RuleConfig:
    """The rule's configuration, if the rule lets ``client_ip`` use it (``security.ip_allow_list``).

    Every call that names a rule reads it through here, so a restricted rule is refused with 403
    ``UnauthorizedOperation.IpNotAllowed`` before any model runs or anything is stored.
    """
    rule = rule_config(session, app_id, rule_id)
    check_client(rule, client_ip)
    return rule


def check_client(rule: RuleConfig, client_ip: str | None) -> None:
    if not rule.security.allows(client_ip):
        raise IpNotAllowed()


def describe_rule(session: Session, app_id: int, rule_id: str, *, gate: PurposeGate) -> tuple[Rule, str]:
    _maintain(gate, app_id, "rules.describe")
    return get_rule(session, app_id, rule_id)


def update_rule(
    session: Session, app_id: int, rule_id: str, body: RuleIn, actor: str, *, gate: PurposeGate
) -> tuple[Rule, str]:
    """Replaces the rule's name and configuration as the next version, recording the change.

    No lost update: the rule is read locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite lets
    one writer at a time in) and the version moves only by a conditional ``UPDATE ... WHERE version
    = seen``, so concurrent updates queue: each one gets the next version and records the
    configuration it really replaced. Should the rule still move between the read and the write,
    the read is retried; after a few tries the answer is 409 ``FailedOperation.ConcurrentUpdate``.
    ``rule_changes(rule_id, version)`` is unique, so a version is never written twice.
    """
    _maintain(gate, app_id, "rules.update")
    new = body.config.model_dump(mode="json")
    now = _now()
    for _ in range(_UPDATE_TRIES):
        rule, name = get_rule(session, app_id, rule_id, lock=True)
        seen, old = rule.version, dict(rule.config)
        bumped = session.execute(
            update(Rule)
            .where(Rule.id == rule_id, Rule.version == seen)
            .values(version=seen + 1, config=new, updated_at=now)
        )
        if cast("CursorResult[Any]", bumped).rowcount == 1:
            break
    else:
        raise ConcurrentUpdate()
    if name != body.name:
        _rename(session, rule_id, body.name)
    try:
        with session.begin_nested():
            session.add(
                RuleChange(
                    rule_id=rule_id, version=seen + 1, changed_by=actor, changed_at=now, old_config=old, new_config=new
                )
            )
            session.flush()
    except IntegrityError as exc:
        raise ConcurrentUpdate() from exc
    _audit_rule(session, "rule_update", app_id, rule_id, seen + 1, actor)
    return rule, body.name


def _rename(session: Session, rule_id: str, name: str) -> None:
    try:
        with session.begin_nested():
            session.execute(update(Resource).where(Resource.id == rule_id).values(name=name))
    except IntegrityError as exc:
        raise InvalidParameterValue(
            "A rule with that name already exists.", code="InvalidParameterValue.RuleNameExists"
        ) from exc


def rule_history(session: Session, app_id: int, rule_id: str, *, gate: PurposeGate) -> list[dict[str, Any]]:
    _maintain(gate, app_id, "rules.history")
    get_rule(session, app_id, rule_id)
    changes = session.scalars(select(RuleChange).where(RuleChange.rule_id == rule_id).order_by(RuleChange.version))
    return [
        {
            "version": change.version,
            "changed_by": change.changed_by,
            "changed_at": change.changed_at.isoformat(),
            "old": change.old_config,
            "new": change.new_config,
        }
        for change in changes
    ]
