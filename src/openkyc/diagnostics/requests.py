"""Troubleshooting: the redacted record of one call, by RequestId, for the caller's own app.

This is the *request log*: readable only within the policy's ``request_log`` period (30 days by
default); an older call answers not found, although its billing fields stay for the
``call_record`` period (see :mod:`openkyc.diagnostics.retention`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from openkyc.errors import ResourceNotFound
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import use
from openkyc.privacy.policy import Policy
from openkyc.privacy.vocabulary import DataElement, Purpose, RetentionKind
from openkyc.store.models.diagnostics import CallRecord


def readable_since(policy: Policy, now: datetime) -> datetime:
    """Calls made at or before this instant are out of the request log."""
    return now - timedelta(hours=policy.max_retention_hours(RetentionKind.REQUEST_LOG))


REQUEST_LOG_ELEMENTS = (
    DataElement.CALL_RECORD,
    DataElement.OPERATION_STATUS,
    DataElement.ERROR,
    DataElement.PERFORMANCE,
    DataElement.CONNECTIVITY,
    DataElement.SECURITY_SETTINGS,  # the credential (SecretId) that made the call
)


def describe_request(
    session: Session, app_id: int, request_id: str, *, now: datetime, gate: PurposeGate
) -> dict[str, Any]:
    """The call's record, for troubleshooting: the gate decides before the record is read."""
    use(gate, Purpose.TROUBLESHOOTING, REQUEST_LOG_ELEMENTS, what="request_log.describe", app_id=app_id)
    policy = gate.policy
    record = session.get(CallRecord, request_id)
    if record is None or record.app_id != app_id or record.created_at <= readable_since(policy, now):
        raise ResourceNotFound("No such request for this app.", code="ResourceNotFound.Request")
    return {
        "request_id": record.request_id,
        "action": record.action,
        "method": record.method,
        "route": record.route,
        "status_code": record.status_code,
        "error_code": record.error_code,
        "result_code": record.result_code,
        "billable": record.billable,
        "duration_ms": record.duration_ms,
        "client_ip": record.client_ip,
        "secret_id": record.secret_id,
        "created_at": record.created_at.isoformat(),
    }
