"""The console's pages: Sign-in, sign-out and the overview page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openkyc.accounts import console_auth
from openkyc.accounts.console_auth import SignedIn
from openkyc.accounts.roles import Permission, require
from openkyc.errors import AccountLocked, LoginFailed
from openkyc.management import listing
from openkyc.management.listing import Scope
from openkyc.privacy.reach import staff_reference
from openkyc.privacy.service import subject_salt
from openkyc.runtime import Runtime
from openkyc.web.console.app import (
    COOKIE,
    LOGIN_COOKIE,
    form,
    login_token,
    page,
    posted,
    runtime_of,
    set_cookie,
)
from openkyc.web.console.pages.common import (
    account_apps,
    actor,
    router,
    view,
)


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
        stats: list[tuple[str, Any]] = [("Apps", len(account_apps(session, user.account_id)))]
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
