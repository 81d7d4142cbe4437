"""The console's pages. Each reads or changes through :mod:`openkyc.management` and the contexts'
services, with the user's role checked first and the user's audit pseudonym as actor."""

from __future__ import annotations

import difflib
import json
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openkyc.accounts import console_auth
from openkyc.accounts.console_auth import SignedIn
from openkyc.accounts.roles import PERMISSIONS, Permission, allowed, require
from openkyc.api.inputs import check_json_body
from openkyc.biometrics.registry import MODELS
from openkyc.compliance.archive import build_archive
from openkyc.compliance.rights import SubjectRights
from openkyc.config import service as rules_service
from openkyc.config.rules import RuleIn
from openkyc.diagnostics import requests as request_log
from openkyc.errors import AccountLocked, InvalidParameterValue, LoginFailed, ResourceNotFound
from openkyc.jobs import jobs_for
from openkyc.management import changes, listing
from openkyc.management.charts import usage_by_day, usage_chart
from openkyc.management.listing import Scope, iso
from openkyc.privacy import audit
from openkyc.privacy.reach import EndUser, staff_reference
from openkyc.privacy.service import record_of_processing, subject_salt
from openkyc.runtime import Runtime
from openkyc.store.models.accounts import App
from openkyc.store.models.privacy import Consent, ErasureReceiptRow
from openkyc.usage import service as usage_service
from openkyc.web.console.app import (
    COOKIE,
    CSP,
    LOGIN_COOKIE,
    form,
    login_token,
    page,
    posted,
    runtime_of,
    set_cookie,
    signed_in,
)

router = APIRouter()

NAV = [
    ("overview", "Overview"),
    ("apps_page", "Apps"),
    ("credentials_page", "Credentials"),
    ("rules_page", "Rules"),
    ("collections_page", "Collections"),
    ("verifications_page", "Verifications"),
    ("sessions_page", "Sessions"),
    ("usage_page", "Usage"),
    ("bills_page", "Bills"),
    ("requests_page", "Request lookup"),
    ("audit_page", "Audit log"),
    ("ropa_page", "Record of processing"),
    ("consents_page", "Consents"),
    ("subjects_page", "Data-subject requests"),
    ("models_page", "Models"),
    ("webhooks_page", "Webhooks"),
    ("users_page", "Users"),
]


# --- helpers ----------------------------------------------------------------------------------------


def actor(runtime: Runtime, user: SignedIn) -> str:
    return staff_reference(subject_salt(runtime.keyring), user.account_id, user.user_id)


def _apps(session: Session, account_id: int) -> list[App]:
    return list(session.scalars(select(App).where(App.account_id == account_id).order_by(App.created_at, App.id)))


def scope_for(runtime: Runtime, session: Session, user: SignedIn, wanted: str | None) -> tuple[Scope, list[App]]:
    """The user's scope: the app in view is ``?app=`` (or a form's ``app``), else the account's first.

    An app that is not one of the account's is 404 ``ResourceNotFound.App``, as in the management
    API: a form never acts on another app than the one it names."""
    apps = _apps(session, user.account_id)
    chosen = next((a.id for a in apps if wanted and str(a.id) == wanted), apps[0].id if apps else None)
    if wanted and apps and str(chosen) != wanted:
        raise ResourceNotFound("The app does not exist.", code="ResourceNotFound.App")
    return Scope(user.account_id, chosen, user.role, actor(runtime, user)), apps


def base(request: Request, user: SignedIn, scope: Scope, apps: list[App], title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "user": user,
        "scope": scope,
        "apps": apps,
        "nav": NAV,
        "can": {p.value: allowed(user.role, p) for p in Permission},
        "csrf": user.csrf_token,
        **extra,
    }


async def view(request: Request, title: str, work: Any, template: str = "table.html") -> HTMLResponse:
    """Runs ``work(runtime, session, user, scope)`` in a transaction and renders ``template``."""
    user = await signed_in(request)
    runtime = runtime_of(request)

    def run() -> dict[str, Any]:
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, request.query_params.get("app"))
            context = base(request, user, scope, apps, title)
            context.update(work(runtime, session, user, scope))
            return context

    return page(request, template, await run_in_threadpool(run))


def back(request: Request, name: str, scope_app: int | str | None = None, **params: Any) -> RedirectResponse:
    url = str(request.url_for(name))
    query = {k: v for k, v in {"app": scope_app, **params}.items() if v is not None}
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return RedirectResponse(url, status_code=303)


def app_param(fields: dict[str, str]) -> str | None:
    return fields.get("app") or None


PAGE_ROWS = 100


def cursor_of(request: Request) -> str | None:
    return request.query_params.get("cursor") or None


def more_link(request: Request, scope: Scope, next_cursor: str | None) -> str | None:
    """The next page of a list (the same page with the cursor the list handed out)."""
    if next_cursor is None:
        return None
    return f"{request.url.path}?app={scope.app_id}&cursor={next_cursor}"


# --- sign-in ---------------------------------------------------------------------------------------


@router.get("/login", name="login_page")
async def login_page(request: Request) -> HTMLResponse:
    token = login_token()
    response = page(request, "login.html", {"title": "Sign in", "login_csrf": token, "user": None, "error": None})
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.post("/login", name="login")
async def login(request: Request) -> Response:
    runtime = runtime_of(request)
    fields = await form(request)
    sent, expected = fields.get("login_csrf", ""), request.cookies.get(LOGIN_COOKIE, "")
    if not sent or not expected or not console_auth.secrets_equal(sent, expected):
        return _login_error(request, "The sign-in form expired; try again.", 403)
    account = fields.get("account_id", "").strip()
    if account and not (account.isascii() and account.isdigit() and len(account) <= 18):
        return _login_error(request, "The account id is a number (leave it empty when you have one account).", 400)
    settings = runtime.settings
    policy = console_auth.Policy(
        settings.console_session_hours, settings.console_max_failed_logins, settings.console_lockout_minutes
    )

    def attempt() -> Any:
        with runtime.transaction() as session:
            return console_auth.log_in(
                session,
                fields.get("user_name", ""),
                fields.get("password", ""),
                now=runtime.clock(),
                policy=policy,
                actor_of=lambda u: staff_reference(subject_salt(runtime.keyring), u.account_id, u.id),
                account_id=int(account) if account else None,
            )

    outcome = await run_in_threadpool(attempt)  # committed: failures count even when refused
    if isinstance(outcome, AccountLocked):
        return _login_error(request, "Too many failed sign-ins: this user is locked for a while.", 423)
    if isinstance(outcome, LoginFailed):
        return _login_error(request, "The user name or the password is wrong.", 401)
    response = RedirectResponse(request.url_for("overview"), status_code=303)
    max_age = int(settings.console_session_hours * 3600)
    set_cookie(request, response, COOKIE, outcome.token, max_age=max_age)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


def _login_error(request: Request, message: str, status: int) -> HTMLResponse:
    token = login_token()
    context = {"title": "Sign in", "login_csrf": token, "user": None, "error": message}
    response = page(request, "login.html", context, status_code=status)
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.post("/logout", name="logout")
async def logout(request: Request) -> Response:
    user, _ = await posted(request)
    runtime = runtime_of(request)

    def run() -> None:
        with runtime.transaction() as session:
            console_auth.log_out(session, user.token, actor(runtime, user))

    await run_in_threadpool(run)
    response = RedirectResponse(request.url_for("login_page"), status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


# --- overview, apps, credentials ---------------------------------------------------------------------


@router.get("/", name="overview")
async def overview(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        require(user.role, Permission.VIEW)
        stats: list[tuple[str, Any]] = [("Apps", len(_apps(session, user.account_id)))]
        if scope.app_id is not None:
            gate = runtime.gate
            recent = listing.verifications(
                session, gate, scope, app_id=None, limit=200, cursor=None, kind=None, result=None,
                since=runtime.clock() - timedelta(days=1), until=None,
            )  # fmt: skip
            cols = listing.collections(session, gate, scope, app_id=None, limit=200, cursor=None, name=None)
            failed = listing.deliveries(
                session, gate, scope, app_id=None, limit=200, cursor=None, state="failed", event=None
            )

            def count(found: Any, items: Any = None) -> str:
                return f"{len(found.items if items is None else items)}{'+' if found.next_cursor else ''}"

            stats += [
                ("Collections", count(cols)),
                ("Verifications, last 24 h", count(recent)),
                ("Passed, last 24 h", count(recent, [r for r in recent.items if r.result_code == "Success"])),
                ("Failed webhook deliveries", count(failed)),
            ]
        return {"stats": stats}

    return await view(request, "Overview", work, "overview.html")


@router.get("/apps", name="apps_page")
async def apps_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.apps(session, runtime.gate, scope, limit=PAGE_ROWS, cursor=cursor_of(request), disabled=None)
        rows = []
        for app in found.items:
            action = "enable" if app.disabled_at else "disable"
            rows.append(
                {
                    "cells": [app.id, app.name, "disabled" if app.disabled_at else "active", iso(app.created_at)],
                    "actions": [
                        {
                            "label": action.capitalize(),
                            "url": request.url_for("app_change", app_id=app.id, action=action),
                        }
                    ]
                    if allowed(user.role, Permission.MANAGE_APPS)
                    else [],
                }
            )
        create = None
        if allowed(user.role, Permission.MANAGE_APPS):
            create = {
                "title": "Create an app",
                "url": request.url_for("app_create"),
                "fields": [("name", "App name", "text")],
            }
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["APPID", "Name", "State", "Created"],
            "rows": rows,
            "create": create,
        }

    return await view(request, "Apps", work)


@router.post("/apps", name="app_create")
async def app_create(request: Request) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> dict[str, Any]:
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, app_param(fields))
            created = changes.create_app(session, runtime.gate, runtime.keyring, scope, fields.get("name", ""))
            return base(request, user, scope, apps, "App created", secret=created)

    return page(request, "secret.html", await run_in_threadpool(run))


@router.post("/apps/{app_id}/{action}", name="app_change")
async def app_change(request: Request, app_id: int, action: str) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)
    if action not in {"disable", "enable"}:
        raise ResourceNotFound("No such action.")

    def run() -> None:
        with runtime.transaction() as session:
            scope, _ = scope_for(runtime, session, user, app_param(fields))
            changes.set_app_disabled(session, runtime.gate, scope, app_id, action == "disable")

    await run_in_threadpool(run)
    return back(request, "apps_page")


@router.get("/credentials", name="credentials_page")
async def credentials_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.credentials(
            session, runtime.gate, scope, app_id=None, limit=PAGE_ROWS, cursor=cursor_of(request), status=None
        )
        manage = allowed(user.role, Permission.MANAGE_APPS)
        rows = []
        for c in found.items:
            actions = []
            if manage and c.status == "active":
                actions = [
                    {
                        "label": "Rotate",
                        "url": request.url_for("credential_change", secret_id=c.secret_id, action="rotate"),
                    },
                    {
                        "label": "Disable",
                        "url": request.url_for("credential_change", secret_id=c.secret_id, action="disable"),
                    },
                ]
            rows.append(
                {
                    "cells": [c.secret_id, c.status, iso(c.created_at), iso(c.last_used_at) or "never"],
                    "actions": actions,
                }
            )
        create = None
        if manage:
            create = {
                "title": "Create a credential for this app",
                "url": request.url_for("credential_create"),
                "fields": [],
            }
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["SecretId", "Status", "Created", "Last used"],
            "rows": rows,
            "create": create,
        }

    return await view(request, "Credentials", work)


@router.post("/credentials", name="credential_create")
async def credential_create(request: Request) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> dict[str, Any]:
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, app_param(fields))
            created = changes.create_credential(session, runtime.gate, runtime.keyring, scope, None)
            return base(request, user, scope, apps, "Credential created", secret=created)

    return page(request, "secret.html", await run_in_threadpool(run))


@router.post("/credentials/{secret_id}/{action}", name="credential_change")
async def credential_change(request: Request, secret_id: str, action: str) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> dict[str, Any] | None:
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, app_param(fields))
            if action == "rotate":
                rotated = changes.rotate_credential(
                    session, runtime.gate, runtime.keyring, scope, secret_id, keep_old=False
                )
                return base(request, user, scope, apps, "Credential rotated", secret=rotated)
            if action == "disable":
                changes.disable_credential(session, runtime.gate, scope, secret_id)
                return None
            raise ResourceNotFound("No such action.")

    context = await run_in_threadpool(run)
    if context is not None:
        return page(request, "secret.html", context)
    return back(request, "credentials_page", app_param(fields))


# --- rules ------------------------------------------------------------------------------------------


@router.get("/rules", name="rules_page")
async def rules_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.rules(
            session, runtime.gate, scope, app_id=None, limit=PAGE_ROWS, cursor=cursor_of(request), name=None
        )
        rows = [
            {
                "cells": [rule.id, name, rule.version, iso(rule.updated_at)],
                "link": str(request.url_for("rule_page", rule_id=rule.id)) + f"?app={scope.app_id}",
                "actions": [],
            }
            for rule, name in found.items
        ]
        create = None
        if allowed(user.role, Permission.EDIT_RULES):
            create = {
                "title": "Create a rule",
                "url": request.url_for("rule_create"),
                "fields": [("name", "Rule name", "text")],
            }
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["Rule id", "Name", "Version", "Updated"],
            "rows": rows,
            "create": create,
        }

    return await view(request, "Rules", work)


@router.post("/rules", name="rule_create")
async def rule_create(request: Request) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> tuple[str, int | None]:
        require(user.role, Permission.EDIT_RULES)
        with runtime.transaction() as session:
            scope, _ = scope_for(runtime, session, user, app_param(fields))
            body = _rule_in(fields.get("name", ""), "{}")
            rule, _ = rules_service.create_rule(session, scope.app(session), body, actor=scope.actor, gate=runtime.gate)
            return rule.id, scope.app_id

    rule_id, app_id = await run_in_threadpool(run)
    return RedirectResponse(str(request.url_for("rule_page", rule_id=rule_id)) + f"?app={app_id}", status_code=303)


def _rule_in(name: str, config_text: str) -> RuleIn:
    check_json_body(config_text.encode("utf-8"))  # the API's limits: nesting depth, NUL, surrogates
    try:
        config = json.loads(config_text or "{}")
        return RuleIn.model_validate({"name": name, "config": config})
    except json.JSONDecodeError as exc:
        raise InvalidParameterValue(f"The configuration is not JSON (line {exc.lineno}).") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if '[' not in str(p))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )
        raise InvalidParameterValue(problems) from None


def _pretty(config: Any) -> str:
    return json.dumps(config, indent=2, sort_keys=True)


@router.get("/rules/{rule_id}", name="rule_page")
async def rule_page(request: Request, rule_id: str) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        require(user.role, Permission.VIEW)
        app_id = scope.app(session)
        rule, name = rules_service.describe_rule(session, app_id, rule_id, gate=runtime.gate)
        history = rules_service.rule_history(session, app_id, rule_id, gate=runtime.gate)
        changes_ = []
        for change in reversed(history):
            old = _pretty(change["old"]) if change.get("old") is not None else ""
            new = _pretty(change["new"])
            diff = "\n".join(
                difflib.unified_diff(
                    old.splitlines(), new.splitlines(), f"version {change['version'] - 1}",
                    f"version {change['version']}", lineterm="",
                )
            )  # fmt: skip
            changes_.append({**change, "diff": diff or "(no change to the configuration)"})
        return {"rule": rule, "name": name, "config_text": _pretty(rule.config), "history": changes_}

    return await view(request, "Rule", work, "rule.html")


@router.post("/rules/{rule_id}", name="rule_update")
async def rule_update(request: Request, rule_id: str) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> int | None:
        require(user.role, Permission.EDIT_RULES)
        body = _rule_in(fields.get("name", ""), fields.get("config", ""))
        with runtime.transaction() as session:
            scope, _ = scope_for(runtime, session, user, app_param(fields))
            rules_service.update_rule(session, scope.app(session), rule_id, body, actor=scope.actor, gate=runtime.gate)
            return scope.app_id

    app_id = await run_in_threadpool(run)
    return RedirectResponse(str(request.url_for("rule_page", rule_id=rule_id)) + f"?app={app_id}", status_code=303)


# --- collections, verifications, sessions ---------------------------------------------------------------


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
        faces = FaceService(runtime.access, runtime.models, runtime.face_index, app_id)
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
            app_ids = [a.id for a in _apps(session, user.account_id)]
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
