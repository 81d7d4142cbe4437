"""Usage and monthly bills, from the call records."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

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
    return {**service.usage(session, caller.app_id, first, last, gate=runtime.gate), "RequestId": rid}


@router.get("/v1/bills/{month}", name="DescribeBill", response_model=None)
def bill(
    month: str,
    runtime: RuntimeDep,
    caller: CallerDep,
    session: SessionDep,
    rid: RequestIdDep,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> dict[str, Any] | Response:
    """The month's bill in the currency of the caller's account price list; ``?format=csv`` for CSV."""
    document = service.bill(
        session, caller.app_id, month, runtime.prices.for_account(caller.account_id), gate=runtime.gate
    )
    if fmt == "csv":
        return Response(
            service.bill_csv(document),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="bill-{caller.app_id}-{document["month"]}.csv"'},
        )
    return {**document, "RequestId": rid}
