"""The console's pages: Webhook deliveries and console users."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openkyc.accounts.console_auth import SignedIn
from openkyc.accounts.roles import PERMISSIONS, Permission, allowed
from openkyc.jobs import jobs_for
from openkyc.management import changes, listing
from openkyc.management.listing import Scope
from openkyc.runtime import Runtime
from openkyc.web.console.app import (
    posted,
    runtime_of,
)
from openkyc.web.console.pages.common import (
    PAGE_ROWS,
    app_param,
    back,
    cursor_of,
    more_link,
    router,
    scope_for,
    view,
)


@router.get("/webhooks", name="webhooks_page")
async def webhooks_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.deliveries(
            session,
            runtime.gate,
            scope,
            app_id=None,
            limit=PAGE_ROWS,
            cursor=cursor_of(request),
            state=None,
            event=None,
        )
        rows = []
        for d in map(listing.delivery_view, found.items):
            actions = []
            if allowed(user.role, Permission.REDELIVER_WEBHOOKS):
                actions = [
                    {"label": "Redeliver", "url": request.url_for("webhook_redeliver", delivery_id=d["delivery_id"])}
                ]
            statuses = ", ".join(str(h.get("status") or h.get("error")) for h in d["history"])
            rows.append(
                {"cells": [d["delivery_id"], d["event"], d["state"], d["attempts"], statuses, d["next_attempt_at"] or "",
                           d["created_at"]], "actions": actions}
            )  # fmt: skip
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["Delivery", "Event", "State", "Attempts", "Status codes", "Next attempt", "Created"],
            "rows": rows,
        }

    return await view(request, "Webhook deliveries", work)


@router.post("/webhooks/{delivery_id}/redeliver", name="webhook_redeliver")
async def webhook_redeliver(request: Request, delivery_id: str) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> int | None:
        with runtime.transaction() as session:
            scope, _ = scope_for(runtime, session, user, app_param(fields))
            row = changes.redeliver_webhook(session, runtime.gate, scope, delivery_id, runtime.clock())
            jobs_for(runtime).enqueue_webhook(row.id, base=row.attempts, after_commit=session)
            return scope.app_id

    app_id = await run_in_threadpool(run)
    return back(request, "webhooks_page", app_id)


@router.get("/users", name="users_page")
async def users_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.users(session, runtime.gate, scope, limit=PAGE_ROWS, cursor=cursor_of(request), role=None)
        rows = [
            {
                "cells": [u["user_name"], u["role"], "yes" if u["locked"] else "no", u["last_login_at"] or "never"],
                "actions": [],
            }
            for u in map(listing.user_view, found.items)
        ]
        table = [
            {"cells": [role, ", ".join(sorted(p.value for p in perms))], "actions": []}
            for role, perms in PERMISSIONS.items()
        ]
        note = "Users are created with `openkyc users create`. Permissions by role: " + "; ".join(
            f"{r['cells'][0]}: {r['cells'][1]}" for r in table
        )
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["User", "Role", "Locked", "Last sign-in"],
            "rows": rows,
            "note": note,
        }

    return await view(request, "Users", work)
