"""Health, account and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from openkyc.api.deps import CallerDep, RequestIdDep, RuntimeDep, SessionDep
from openkyc.diagnostics import requests

router = APIRouter()


@router.get("/v1/health", name="Health")
def health(runtime: RuntimeDep, request_id: RequestIdDep) -> dict[str, Any]:
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok", "ready": bool(runtime.components.get("ready")), "RequestId": request_id}


@router.get("/v1/health/ready", name="Readiness")
def readiness(runtime: RuntimeDep, request_id: RequestIdDep, response: Response) -> dict[str, Any]:
    """Ready once start-up has loaded the 1:N index and built (and warmed) every model set: the
    first request is then served like the tenth. 503 until then."""
    ready = bool(runtime.components.get("ready"))
    if not ready:
        response.status_code = 503
    index = runtime.components.get("face_index")
    return {
        "ready": ready,
        "templates_in_index": index.total() if index is not None else 0,
        "index_bytes": index.memory_bytes() if index is not None else 0,
        "RequestId": request_id,
    }


@router.get("/v1/account", name="DescribeAccount")
def account(caller: CallerDep, request_id: RequestIdDep) -> dict[str, Any]:
    return {
        "account_id": caller.account_id,
        "app_id": caller.app_id,
        "app_name": caller.app_name,
        "RequestId": request_id,
    }


@router.get("/v1/requests/{request_id}", name="DescribeRequest")
def describe_request(
    request_id: str, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, rid: RequestIdDep
) -> dict[str, Any]:
    record = requests.describe_request(session, caller.app_id, request_id, now=runtime.clock(), gate=runtime.gate)
    return {**record, "RequestId": rid}


@router.get("/metrics", name="Metrics", include_in_schema=False)
def metrics(runtime: RuntimeDep) -> Response:
    metrics = runtime.components.get("metrics")
    payload = generate_latest(metrics.registry) if metrics is not None else generate_latest()
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
