"""Shared pieces of the console's pages (router, navigation, scope and paging helpers). The pages themselves:
the other modules of this package. The console's pages. Each reads or changes through :mod:`openkyc.management` and the contexts'
services, with the user's role checked first and the user's audit pseudonym as actor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openkyc.accounts.console_auth import SignedIn
from openkyc.accounts.roles import Permission, allowed
from openkyc.errors import ResourceNotFound
from openkyc.management.listing import Scope
from openkyc.privacy.reach import staff_reference
from openkyc.privacy.service import subject_salt
from openkyc.runtime import Runtime
from openkyc.store.models.accounts import App
from openkyc.web.console.app import (
    page,
    runtime_of,
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


def account_apps(session: Session, account_id: int) -> list[App]:
    return list(session.scalars(select(App).where(App.account_id == account_id).order_by(App.created_at, App.id)))


def scope_for(runtime: Runtime, session: Session, user: SignedIn, wanted: str | None) -> tuple[Scope, list[App]]:
    """The user's scope: the app in view is ``?app=`` (or a form's ``app``), else the account's first.

    An app that is not one of the account's is 404 ``ResourceNotFound.App``, as in the management
    API: a form never acts on another app than the one it names."""
    apps = account_apps(session, user.account_id)
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
