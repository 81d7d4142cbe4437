"""The console's pages: Collections, verifications and hosted sessions."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openkyc.accounts.console_auth import SignedIn
from openkyc.accounts.roles import Permission, allowed, require
from openkyc.management import listing
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


@router.get("/collections", name="collections_page")
async def collections_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.collections(
            session, runtime.gate, scope, app_id=None, limit=PAGE_ROWS, cursor=cursor_of(request), name=None
        )
        counts = listing.subject_counts(session, runtime.gate, scope.app(session), [c.id for c, _ in found.items])
        rows = []
        for item in found.items:
            summary = listing.collection_summary(item, counts)
            actions = []
            if allowed(user.role, Permission.MANAGE_COLLECTIONS):
                actions = [{"label": "Delete", "url": request.url_for("collection_delete", collection_id=item[0].id)}]
            rows.append(
                {
                    "cells": [summary["collection_id"], summary["name"], summary["subject_count"],
                              "yes" if summary["duplicate_check"] else "no", summary["embedder"], summary["created_at"]],
                    "link": str(request.url_for("collection_page", collection_id=item[0].id)) + f"?app={scope.app_id}",
                    "actions": actions,
                }
            )  # fmt: skip
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["Collection", "Name", "Subjects", "Duplicate check", "Embedder", "Created"],
            "rows": rows,
        }

    return await view(request, "Collections", work)


@router.get("/collections/{collection_id}", name="collection_page")
async def collection_page(request: Request, collection_id: str) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.subjects(
            session, runtime.gate, runtime.keyring, scope, app_id=None, collection_id=collection_id,
            limit=PAGE_ROWS, cursor=cursor_of(request),
        )  # fmt: skip
        rows = [
            {
                "cells": [s["subject_id"], s["enrolled_at"], s["template_version"],
                          "held" if s["has_identification"] else "none", "retained" if s["image_retained"] else "none"],
                "actions": [],
            }
            for s in found.items
        ]  # fmt: skip
        note = "Metadata only: identification fields and images are never shown here; use a data-subject export."
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["Subject", "Enrolled", "Template version", "Identification", "Image"],
            "rows": rows,
            "note": note,
        }

    return await view(request, f"Collection {collection_id}", work)


@router.post("/collections/{collection_id}/delete", name="collection_delete")
async def collection_delete(request: Request, collection_id: str) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> int | None:
        from openkyc.biometrics.service import FaceService

        require(user.role, Permission.MANAGE_COLLECTIONS)
        with runtime.transaction() as session:
            scope, _ = scope_for(runtime, session, user, app_param(fields))
            app_id = scope.app(session)
        faces = FaceService(
            runtime.access, runtime.models, runtime.face_index, app_id, template_bits=runtime.settings.template_bits
        )
        faces.delete_collection(collection_id, actor=scope.actor)
        return scope.app_id

    app_id = await run_in_threadpool(run)
    return back(request, "collections_page", app_id)


@router.get("/verifications", name="verifications_page")
async def verifications_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.verifications(
            session, runtime.gate, scope, app_id=None, limit=PAGE_ROWS, cursor=cursor_of(request), kind=None, result=None,
            since=None, until=None,
        )  # fmt: skip
        rows = [
            {"cells": [v["verification_id"], v["kind"], v["Result"], v["live"], v["created_at"]], "actions": []}
            for v in map(listing.verification_view, found.items)
        ]
        note = "Redacted: subject ids and document fields are not shown (GET /v1/verifications/{id} has them)."
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["Verification", "Kind", "Result", "Live", "Created"],
            "rows": rows,
            "note": note,
        }

    return await view(request, "Verifications", work)


@router.get("/sessions", name="sessions_page")
async def sessions_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.sessions(
            session, runtime.gate, scope, app_id=None, limit=PAGE_ROWS, cursor=cursor_of(request), state=None
        )
        now = runtime.clock()
        rows = [
            {
                "cells": [s["session_ref"], s["state"], s["attempts"], s["verification_id"] or "", s["created_at"]],
                "actions": [],
            }
            for s in (listing.session_view(r, now) for r in found.items)
        ]
        note = "Redacted: BizTokens and the customer's extra data are never shown."
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["Session", "State", "Attempts", "Verification", "Created"],
            "rows": rows,
            "note": note,
        }

    return await view(request, "Hosted sessions", work)


# --- usage, bills, request lookup -------------------------------------------------------------------------
