"""The console's pages: Audit log, record of processing, consents, data-subject requests and models."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openkyc.accounts.console_auth import SignedIn
from openkyc.accounts.roles import Permission, require
from openkyc.biometrics.registry import MODELS
from openkyc.compliance.archive import build_archive
from openkyc.compliance.rights import SubjectRights
from openkyc.errors import InvalidParameterValue
from openkyc.management import listing
from openkyc.management.listing import Scope, iso
from openkyc.privacy import audit
from openkyc.privacy.reach import EndUser
from openkyc.privacy.service import record_of_processing
from openkyc.runtime import Runtime
from openkyc.store.models.privacy import Consent, ErasureReceiptRow
from openkyc.web.console.app import (
    CSP,
    page,
    posted,
    runtime_of,
    signed_in,
)
from openkyc.web.console.pages.common import (
    PAGE_ROWS,
    account_apps,
    app_param,
    base,
    cursor_of,
    more_link,
    router,
    scope_for,
    view,
)


@router.get("/audit", name="audit_page")
async def audit_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.audit_log(
            session, runtime.gate, scope, limit=PAGE_ROWS, cursor=cursor_of(request),
            event_type=None, app_id=None,
        )  # fmt: skip
        rows = [
            {"cells": [r.seq, iso(r.created_at), r.app_id, r.actor, r.event_type, json.dumps(r.details, sort_keys=True)],
             "actions": []}
            for r in found.items
        ]  # fmt: skip
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["Seq", "Time", "APPID", "Actor", "Event", "Details"],
            "rows": rows,
            "verify": request.url_for("audit_verify"),
        }

    return await view(request, "Audit log", work)


@router.post("/audit/verify", name="audit_verify")
async def audit_verify(request: Request) -> HTMLResponse:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> dict[str, Any]:
        require(user.role, Permission.VIEW_AUDIT)
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, app_param(fields))
            report = audit.verify(session)
        facts = {
            "ok": report.ok, "records": report.records, "signed": report.signed, "checkpoints": report.checkpoints,
            "head": f"{report.head_seq}:{report.head_hash}", "first_bad_seq": report.first_bad_seq,
            "reason": report.reason,
        }  # fmt: skip
        rows = [{"cells": [k, v], "actions": []} for k, v in facts.items()]
        note = "The chain holds." if report.ok else f"The chain is broken at {report.first_bad_seq}: {report.reason}"
        return base(
            request, user, scope, apps, "Audit log verification", columns=["Check", "Value"], rows=rows, note=note
        )

    return page(request, "table.html", await run_in_threadpool(run))


@router.get("/ropa", name="ropa_page")
async def ropa_page(request: Request) -> HTMLResponse:
    user = await signed_in(request)
    require(user.role, Permission.VIEW_AUDIT)
    runtime = runtime_of(request)

    def run() -> str:
        with runtime.transaction() as session:
            app_ids = [a.id for a in account_apps(session, user.account_id)]
        return record_of_processing(runtime.access, runtime.settings, "html", app_ids=app_ids)

    document = await run_in_threadpool(run)
    # the generated record is a whole HTML document with its own inline style (no script)
    response = HTMLResponse(document)
    response.headers["Content-Security-Policy"] = CSP.replace("style-src 'self'", "style-src 'unsafe-inline'")
    return response


@router.get("/consents", name="consents_page")
async def consents_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        require(user.role, Permission.VIEW_AUDIT)
        from openkyc.privacy.guards import use
        from openkyc.privacy.vocabulary import DataElement, Purpose

        use(runtime.gate, Purpose.MAINTAIN_CONFIGURATION, (DataElement.APP_ID,), what="console.consents")
        rows_ = session.execute(
            select(Consent.purpose, Consent.text_version, Consent.withdrawn_at).where(
                Consent.app_id == scope.app(session)
            )
        ).all()
        counts: dict[tuple[str, str, str], int] = {}
        for purpose, version, withdrawn in rows_:
            key = (purpose, version, "withdrawn" if withdrawn else "active")
            counts[key] = counts.get(key, 0) + 1
        rows = [{"cells": [*key, n], "actions": []} for key, n in sorted(counts.items())]
        note = "Counts only: who consented is answered by a data-subject export."
        return {"columns": ["Purpose", "Text version", "State", "Consents"], "rows": rows, "note": note}

    return await view(request, "Consents", work)


@router.get("/subjects", name="subjects_page")
async def subjects_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        require(user.role, Permission.SUBJECT_REQUESTS)
        receipts = session.scalars(
            select(ErasureReceiptRow)
            .where(ErasureReceiptRow.app_id == scope.app(session))
            .order_by(ErasureReceiptRow.completed_at.desc())
            .limit(100)
        ).all()
        rows = [
            {"cells": [r.receipt_id, iso(r.completed_at), json.dumps(r.items, sort_keys=True)], "actions": []}
            for r in receipts
        ]
        return {"columns": ["Receipt", "Completed", "Removed"], "rows": rows}

    return await view(request, "Data-subject requests", work, "subjects.html")


@router.post("/subjects/export", name="subject_export")
async def subject_export(request: Request) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)
    subject_id = fields.get("subject_id", "").strip()
    if not subject_id:
        raise InvalidParameterValue("Give the subject id.")

    def run() -> tuple[Any, dict[str, Any]]:
        require(user.role, Permission.SUBJECT_REQUESTS)
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, app_param(fields))
            app_id = scope.app(session)
        result = SubjectRights(runtime.access, scope.actor, runtime.face_index).export(EndUser(app_id, subject_id))
        return result, base(request, user, scope, apps, "Subject export")

    result, context = await run_in_threadpool(run)
    if fields.get("format") == "zip":
        return Response(
            build_archive(result),
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="openkyc-export.zip"'},
        )
    exported = result.export.model_dump(mode="json")
    context.update(
        items=len(exported.get("items", [])),
        files=len(result.files),
        export_text=json.dumps(_without_media(exported), indent=2, sort_keys=True),
        subject_id=subject_id,
    )
    return page(request, "export.html", context)


def _without_media(value: Any) -> Any:
    """The export for the page: long strings (encoded media) replaced by their length."""
    if isinstance(value, dict):
        return {k: _without_media(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_media(v) for v in value]
    if isinstance(value, str) and len(value) > 300:
        return f"[{len(value)} characters: in the ZIP download]"
    return value


@router.post("/subjects/erase", name="subject_erase")
async def subject_erase(request: Request) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)
    subject_id = fields.get("subject_id", "").strip()
    if not subject_id:
        raise InvalidParameterValue("Give the subject id.")
    if fields.get("confirm") != "yes":
        raise InvalidParameterValue("Tick the confirmation: erasure cannot be undone.")

    def run() -> dict[str, Any]:
        require(user.role, Permission.SUBJECT_REQUESTS)
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, app_param(fields))
            app_id = scope.app(session)
        receipt = SubjectRights(runtime.access, scope.actor, runtime.face_index).erase(EndUser(app_id, subject_id))
        shown = receipt.model_dump(mode="json")
        rows = [
            {"cells": [k, json.dumps(v) if isinstance(v, dict | list) else v], "actions": []} for k, v in shown.items()
        ]
        return base(request, user, scope, apps, "Erasure receipt", columns=["Field", "Value"], rows=rows,
                    note="Erased. Keep the receipt id: the receipt holds no personal data.")  # fmt: skip

    return page(request, "table.html", await run_in_threadpool(run))


# --- models, webhooks, users -----------------------------------------------------------------------------


@router.get("/models", name="models_page")
async def models_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        require(user.role, Permission.VIEW)
        rows = [
            {"cells": [m.name, m.role, m.package, m.licence, "yes" if m.commercial_use else "no", m.sha256[:16] + "…"],
             "actions": []}
            for m in MODELS
        ]  # fmt: skip
        return {"columns": ["Model", "Role", "Package", "Licence", "Commercial use", "sha256"], "rows": rows}

    return await view(request, "Model registry", work)
