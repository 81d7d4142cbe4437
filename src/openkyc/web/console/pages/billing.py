"""The console's pages: Usage, bills and request lookup."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from openkyc.accounts.console_auth import SignedIn
from openkyc.accounts.roles import Permission, require
from openkyc.diagnostics import requests as request_log
from openkyc.errors import ResourceNotFound
from openkyc.management.charts import usage_by_day, usage_chart
from openkyc.management.listing import Scope
from openkyc.runtime import Runtime
from openkyc.usage import service as usage_service
from openkyc.web.console.pages.common import (
    router,
    view,
)


@router.get("/usage", name="usage_page")
async def usage_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        require(user.role, Permission.VIEW)
        days = request.query_params.get("days", "30")
        span = int(days) if days.isdigit() and 1 <= int(days) <= 92 else 30
        last = runtime.clock().date()
        first = last - timedelta(days=span - 1)
        series = usage_by_day(session, runtime.gate, scope.app(session), first, last)
        charts = [(action, usage_chart(action, by_code, first, last)) for action, by_code in sorted(series.items())]
        return {"charts": charts, "first": first.isoformat(), "last": last.isoformat(), "days": span}

    return await view(request, "Usage", work, "usage.html")


@router.get("/bills", name="bills_page")
async def bills_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        require(user.role, Permission.VIEW_BILLS)
        month = request.query_params.get("month") or runtime.clock().strftime("%Y-%m")
        document = usage_service.bill(
            session, scope.app(session), month, runtime.prices.for_account(user.account_id), gate=runtime.gate
        )
        rows = [
            {
                "cells": [i.get("action"), i.get("billable_calls"), i.get("price_per_1000"), i.get("amount")],
                "actions": [],
            }
            for i in document.get("lines", [])
        ]
        note = f"Month {document['month']}: total {document.get('total')} {document.get('currency')}."
        return {
            "columns": ["Action", "Billable calls", "Price per 1,000", "Amount"],
            "rows": rows,
            "note": note,
            "search": {"name": "month", "label": "Month (YYYY-MM)", "value": month},
        }

    return await view(request, "Bills", work)


@router.get("/requests", name="requests_page")
async def requests_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        require(user.role, Permission.VIEW)
        wanted = (request.query_params.get("request_id") or "").strip()
        found: dict[str, Any] | None = None
        error = None
        if wanted:
            try:
                found = request_log.describe_request(
                    session, scope.app(session), wanted, now=runtime.clock(), gate=runtime.gate
                )
            except ResourceNotFound as exc:
                error = exc.message
        rows = [{"cells": [k, v], "actions": []} for k, v in (found or {}).items()]
        return {
            "columns": ["Field", "Value"] if found else [],
            "rows": rows,
            "note": error,
            "search": {"name": "request_id", "label": "RequestId", "value": wanted},
        }

    return await view(request, "Request lookup", work)


# --- audit, record of processing, consents, subject requests -------------------------------------------
