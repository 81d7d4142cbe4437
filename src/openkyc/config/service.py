"""Rules service: create, read and change rules, scoped to one app, keeping every change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openkyc.accounts import ids
from openkyc.config.rules import RuleConfig, RuleIn
from openkyc.errors import InvalidParameterValue, ResourceNotFound
from openkyc.privacy import audit
from openkyc.store.models.accounts import Resource
from openkyc.store.models.config import Rule, RuleChange

RULE_NOT_FOUND = "ResourceNotFound.Rule"


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


def create_rule(session: Session, app_id: int, body: RuleIn, actor: str) -> tuple[Rule, str]:
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


def get_rule(session: Session, app_id: int, rule_id: str) -> tuple[Rule, str]:
    """The rule if it belongs to ``app_id``; another app's rule is reported exactly as a missing one."""
    row = session.execute(
        select(Rule, Resource.name)
        .join(Resource, Resource.id == Rule.id)
        .where(Rule.id == rule_id, Rule.app_id == app_id)
    ).first()
    if row is None:
        raise ResourceNotFound("The rule does not exist.", code=RULE_NOT_FOUND)
    return row[0], row[1]


def rule_config(session: Session, app_id: int, rule_id: str | None) -> RuleConfig:
    """The validated configuration of a rule, or the defaults when no rule is named."""
    if rule_id is None:
        return RuleConfig()
    rule, _ = get_rule(session, app_id, rule_id)
    return RuleConfig.model_validate(rule.config)


def update_rule(session: Session, app_id: int, rule_id: str, body: RuleIn, actor: str) -> tuple[Rule, str]:
    rule, _ = get_rule(session, app_id, rule_id)
    resource = session.get(Resource, rule_id)
    assert resource is not None
    old = dict(rule.config)
    new = body.config.model_dump(mode="json")
    now = _now()
    rule.version += 1
    rule.config = new
    rule.updated_at = now
    resource.name = body.name
    session.add(
        RuleChange(
            rule_id=rule_id, version=rule.version, changed_by=actor, changed_at=now, old_config=old, new_config=new
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise InvalidParameterValue(
            "A rule with that name already exists.", code="InvalidParameterValue.RuleNameExists"
        ) from exc
    _audit_rule(session, "rule_update", app_id, rule_id, rule.version, actor)
    return rule, body.name


def rule_history(session: Session, app_id: int, rule_id: str) -> list[dict[str, Any]]:
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
