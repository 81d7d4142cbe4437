"""Usage and monthly bills, from the call records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from openkyc.api.deps import CallerDep, RequestIdDep, RuntimeDep, SessionDep
from openkyc.usage import service

router = APIRouter()


@router.get("/v1/usage", name="DescribeUsage")
def usage(
    runtime: RuntimeDep,
    caller: CallerDep,
    session: SessionDep,
    rid: RequestIdDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    today = runtime.clock().date()
    first = service.parse_day(start, today.replace(day=1), "from")
    last = service.parse_day(end, today, "to")
    return {**service.usage(session, caller.app_id, first, last), "RequestId": rid}


@router.get("/v1/bills/{month}", name="DescribeBill")
def bill(month: str, caller: CallerDep, session: SessionDep, rid: RequestIdDep) -> dict[str, Any]:
    return {**service.bill(session, caller.app_id, month), "RequestId": rid}
