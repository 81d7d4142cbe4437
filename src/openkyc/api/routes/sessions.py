"""Hosted verification: sessions (BizToken), the end user's page and its two calls."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import Field, field_validator

from openkyc.api.deps import CallerDep, ClientIpDep, RequestIdDep, SessionServiceDep, metered
from openkyc.api.payloads import Base64Media, Body, decode_b64
from openkyc.verification.sessions import validate_redirect
from openkyc.web.i18n import catalog

router = APIRouter()

_templates = Environment(loader=PackageLoader("openkyc.web", "templates"), autoescape=select_autoescape(["html"]))


class SessionIn(Body):
    redirect_url: str = Field(min_length=8, max_length=2048)
    rule_id: str | None = None
    compare_image: Base64Media | None = None
    extra: str | None = Field(default=None, max_length=1000)

    @field_validator("redirect_url")
    @classmethod
    def _redirect(cls, value: str) -> str:
        validate_redirect(value)
        return value


class SubmitIn(Body):
    video: Base64Media
    reflect_sequence_id: str | None = Field(default=None, max_length=64)


@router.post("/v1/sessions", name="CreateSession")
def create_session(
    body: SessionIn,
    request: Request,
    sessions: SessionServiceDep,
    caller: CallerDep,
    address: ClientIpDep,
    rid: RequestIdDep,
) -> dict[str, Any]:
    image = decode_b64(body.compare_image, "compare_image") if body.compare_image else None
    out = sessions.create(
        caller.app_id,
        rule_id=body.rule_id,
        redirect_url=body.redirect_url,
        compare_image=image,
        extra=body.extra,
        base_url=str(request.base_url),
        client_ip=address,
    )
    return {**out, "RequestId": rid}


@router.get("/v1/sessions/{biz_token}/result", name="DescribeSessionResult")
def session_result(biz_token: str, sessions: SessionServiceDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    return {**sessions.result(caller.app_id, biz_token), "RequestId": rid}


@router.get("/verify/{biz_token}", name="VerificationPage", response_class=HTMLResponse)
def page(biz_token: str, sessions: SessionServiceDep) -> HTMLResponse:
    context = sessions.page_context(biz_token)
    nonce = secrets.token_urlsafe(16)
    html = _templates.get_template("verify.html").render(**context, t=catalog(context["language"]), nonce=nonce)
    headers = {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; media-src 'self' blob: mediastream:; img-src 'self' data:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Permissions-Policy": "camera=(self), microphone=()",
    }
    return HTMLResponse(html, headers=headers)


@router.post("/verify/{biz_token}/sequence", name="CreateSessionReflectSequence")
def page_sequence(biz_token: str, sessions: SessionServiceDep, address: ClientIpDep) -> dict[str, Any]:
    return sessions.sequence(biz_token, address)


@router.post("/verify/{biz_token}/submit", name="SubmitSessionVideo")
def page_submit(
    biz_token: str, body: SubmitIn, request: Request, sessions: SessionServiceDep, address: ClientIpDep
) -> dict[str, Any]:
    out = sessions.submit(biz_token, decode_b64(body.video, "video"), body.reflect_sequence_id, address)
    request.state.app_id = out.pop("app_id")  # the call is billed to the session's app
    metered(request, out["Result"])
    return out
