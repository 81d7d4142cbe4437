"""Administrative changes for operators, checked against the role and the account, all audited
(the audit records are written by the accounts service in the same transaction as the change)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openkyc.accounts import service as accounts
from openkyc.accounts.roles import Permission, require
from openkyc.errors import InvalidParameterValue, ResourceNotFound
from openkyc.jobs import webhooks
from openkyc.management.listing import Scope, app_view, credential_view
from openkyc.privacy import audit
from openkyc.privacy.crypto import Keyring
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import use
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.store.models.accounts import Credential
from openkyc.store.models.webhooks import WebhookDeliveryRow

__all__ = [
    "create_app",
    "create_credential",
    "disable_credential",
    "redeliver_webhook",
    "rotate_credential",
    "set_app_disabled",
]

# The management API's pattern for app names (letters, digits, "_", space, ".", "-"), checked here
# too so that the console and the API accept the same names.
APP_NAME = re.compile(r"[\w .\-]{1,128}")

_CONFIG = (DataElement.APP_ID, DataElement.RESOURCE_NAME, DataElement.SECURITY_SETTINGS)


def create_app(session: Session, gate: PurposeGate, keyring: Keyring, scope: Scope, name: str) -> dict[str, Any]:
    """A new app in the caller's account with its first credential (the SecretKey shown this once)."""
    require(scope.role, Permission.MANAGE_APPS)
    name = name.strip()
    if not APP_NAME.fullmatch(name):
        raise InvalidParameterValue(
            "The app name must have 1 to 128 characters: letters, digits, spaces, '_', '.' and '-'."
        )
    use(gate, Purpose.MAINTAIN_CONFIGURATION, _CONFIG, what="management.create_app")
    app = accounts.create_app(session, scope.account_id, name, actor=scope.actor)
    issued = accounts.create_credential(session, keyring, app.id, actor=scope.actor)
    return {**app_view(app), "secret_id": issued.secret_id, "secret_key": issued.secret_key}


def set_app_disabled(session: Session, gate: PurposeGate, scope: Scope, app_id: int, disabled: bool) -> dict[str, Any]:
    require(scope.role, Permission.MANAGE_APPS)
    use(gate, Purpose.MAINTAIN_CONFIGURATION, _CONFIG, what="management.disable_app")
    app = accounts.set_app_disabled(session, scope.app(session, app_id), disabled, actor=scope.actor)
    return app_view(app)


def _own_credential(session: Session, scope: Scope, secret_id: str) -> Credential:
    credential = session.scalar(select(Credential).where(Credential.secret_id == secret_id))
    if credential is None:
        raise ResourceNotFound("The credential does not exist.", code="ResourceNotFound.Credential")
    try:
        scope.app(session, credential.app_id)
    except ResourceNotFound:
        raise ResourceNotFound("The credential does not exist.", code="ResourceNotFound.Credential") from None
    return credential


def create_credential(
    session: Session, gate: PurposeGate, keyring: Keyring, scope: Scope, app_id: int | None
) -> dict[str, Any]:
    require(scope.role, Permission.MANAGE_APPS)
    use(gate, Purpose.MAINTAIN_CONFIGURATION, _CONFIG, what="management.create_credential")
    issued = accounts.create_credential(session, keyring, scope.app(session, app_id), actor=scope.actor)
    return {"app_id": issued.app_id, "secret_id": issued.secret_id, "secret_key": issued.secret_key}


def rotate_credential(
    session: Session, gate: PurposeGate, keyring: Keyring, scope: Scope, secret_id: str, *, keep_old: bool
) -> dict[str, Any]:
    require(scope.role, Permission.MANAGE_APPS)
    use(gate, Purpose.MAINTAIN_CONFIGURATION, _CONFIG, what="management.rotate_credential")
    old = _own_credential(session, scope, secret_id)
    if old.status != "active":
        raise InvalidParameterValue(
            "Only an active credential can be rotated.", code="InvalidParameterValue.CredentialDisabled"
        )
    issued = accounts.rotate_credential(session, keyring, secret_id, keep_old=keep_old, actor=scope.actor)
    return {
        "app_id": issued.app_id,
        "secret_id": issued.secret_id,
        "secret_key": issued.secret_key,
        "old_secret_id": secret_id,
        "old_disabled": not keep_old,
    }


def disable_credential(session: Session, gate: PurposeGate, scope: Scope, secret_id: str) -> dict[str, Any]:
    require(scope.role, Permission.MANAGE_APPS)
    use(gate, Purpose.MAINTAIN_CONFIGURATION, _CONFIG, what="management.disable_credential")
    credential = _own_credential(session, scope, secret_id)
    if credential.status != "disabled":
        accounts.disable_credential(session, secret_id, actor=scope.actor)
    return credential_view(credential)


def redeliver_webhook(
    session: Session, gate: PurposeGate, scope: Scope, delivery_id: str, now: datetime
) -> WebhookDeliveryRow:
    """Puts a delivery of the caller's app back to ``pending``; the caller enqueues it after commit."""
    require(scope.role, Permission.REDELIVER_WEBHOOKS)
    use(gate, Purpose.TROUBLESHOOTING, (DataElement.APP_ID, DataElement.OPERATION_STATUS), what="management.redeliver")
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        raise ResourceNotFound("The webhook delivery does not exist.", code="ResourceNotFound.WebhookDelivery")
    try:
        scope.app(session, row.app_id)
    except ResourceNotFound:
        raise ResourceNotFound(
            "The webhook delivery does not exist.", code="ResourceNotFound.WebhookDelivery"
        ) from None
    row = webhooks.redeliver(session, row.app_id, delivery_id, now)
    audit.append(
        session,
        audit.AuditEvent.CONFIG_CHANGE,
        actor=scope.actor,
        app_id=row.app_id,
        details={"action": "webhook_redeliver", "delivery_id": delivery_id},
    )
    return row
