"""Troubleshooting: the redacted record of one call, by RequestId, for the caller's own app."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from openkyc.errors import ResourceNotFound
from openkyc.store.models.diagnostics import CallRecord


def describe_request(session: Session, app_id: int, request_id: str) -> dict[str, Any]:
    record = session.get(CallRecord, request_id)
    if record is None or record.app_id != app_id:
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
