"""The console's ASGI app: cookies, CSRF, error pages, security headers, and the page routes."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from openkyc.accounts import console_auth
from openkyc.accounts.console_auth import SignedIn
from openkyc.errors import CsrfFailed, NulCharacter, OpenKYCError
from openkyc.runtime import Runtime

HERE = Path(__file__).resolve().parent
COOKIE = "openkyc_console"
LOGIN_COOKIE = "openkyc_console_login"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
templates = Jinja2Templates(directory=str(HERE / "templates"))
_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:\+00:00|Z)$")


def shown(value: Any) -> str:
    """A table cell: UTC times as ``YYYY-MM-DD HH:MM:SS``, ``None`` as nothing, the rest as text."""
    if value is None:
        return ""
    text = str(value)
    match = _ISO_TIME.match(text)
    return f"{match.group(1)} {match.group(2)}" if match else text


templates.env.filters["shown"] = shown


class NeedLogin(Exception):
    """No valid session: the page redirects to the sign-in form."""


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime_of()
    return runtime


def secure(request: Request) -> bool:
    """Secure cookies behind https (directly, or the public URL the service is reached at)."""
    public = str(getattr(runtime_of(request).settings, "public_base_url", "") or "")
    return request.url.scheme == "https" or public.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/console", httponly=True, samesite="strict", secure=secure(request)
    )


async def form(request: Request) -> dict[str, str]:
    """A urlencoded form (the console posts nothing else): the last value of each field.

    A NUL character in a name or value is refused as the API refuses it (PostgreSQL cannot store
    it), before any page sees the form."""
    body = (await request.body()).decode("utf-8", errors="replace")
    fields = {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
    if any("\x00" in key or "\x00" in value for key, value in fields.items()):
        raise NulCharacter("A form field contains a NUL character (U+0000).")
    return fields


async def signed_in(request: Request) -> SignedIn:
    runtime = runtime_of(request)
    token = request.cookies.get(COOKIE)

    def look() -> SignedIn | None:
        with runtime.transaction() as session:
            return console_auth.resolve(session, token, runtime.clock())

    user = await run_in_threadpool(look)
    if user is None:
        raise NeedLogin()
    return user


async def posted(request: Request) -> tuple[SignedIn, dict[str, str]]:
    """The signed-in user of a POST and its form, after the CSRF token is checked."""
    user = await signed_in(request)
    fields = await form(request)
    if not console_auth.csrf_ok(user, fields.get("csrf")):
        raise CsrfFailed()
    return user, fields


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return response


def build_console(runtime_of_app: Callable[[], Runtime]) -> FastAPI:
    from openkyc.web.console import pages

    console = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    console.state.runtime_of = runtime_of_app
    console.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @console.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @console.exception_handler(NeedLogin)
    async def _login(request: Request, exc: NeedLogin) -> Response:
        return RedirectResponse(request.url_for("login_page"), status_code=303)

    @console.exception_handler(OpenKYCError)
    async def _error(request: Request, exc: OpenKYCError) -> Response:
        context = {"title": "Error", "code": exc.error_code, "message": exc.message, "user": None}
        return page(request, "error.html", context, status_code=exc.status_code)

    console.include_router(pages.router)
    return console


def login_token() -> str:
    return secrets.token_urlsafe(24)
