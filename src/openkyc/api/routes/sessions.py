"""Hosted verification: sessions (BizToken), the end user's page and its calls.

The page (``GET /verify/{biz_token}``) is rendered in the language :func:`openkyc.web.i18n.choose`
picks; a browser that opens an unknown, finished or expired link gets an HTML page that says so in
its language (a client that does not ask for HTML gets the JSON error envelope). The page's calls:
``notice`` (agree or decline), ``challenge`` (a timed challenge for the next recording),
``sequence`` (a reflection colour sequence, when challenges are off), ``document`` (whether a photo
of the document needs its other side) and ``submit``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import Field, StrictBool, field_validator

from openkyc.api.deps import CallerDep, ClientIpDep, RequestIdDep, SessionServiceDep, metered
from openkyc.api.payloads import Base64Media, Body, decode_b64
from openkyc.errors import ResourceNotFound
from openkyc.verification.sessions import CheckMode, validate_redirect
from openkyc.web.i18n import LANGUAGES, choose
from openkyc.web.pages import link_page, verify_page

router = APIRouter()


class SessionIn(Body):
    redirect_url: str = Field(min_length=8, max_length=2048)
    rule_id: str | None = None
    check_mode: CheckMode | None = None
    compare_image: Base64Media | None = None
    language: str | None = Field(default=None, max_length=16)
    extra: str | None = Field(default=None, max_length=1000)

    @field_validator("redirect_url")
    @classmethod
    def _redirect(cls, value: str) -> str:
        validate_redirect(value)
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and value not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        return value


class NoticeIn(Body):
    agree: StrictBool  # consent is a JSON true, never a string or a number that looks like one
    silent: bool = False  # silent liveness instead of reflection, where the rule allows it


class SubmitIn(Body):
    video: Base64Media | None = None
    document_image: Base64Media | None = None
    document_back_image: Base64Media | None = None
    reflect_sequence_id: str | None = Field(default=None, max_length=64)
    attempt_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,40}$")
    challenge_id: str | None = Field(default=None, max_length=64)


class DocumentSideIn(Body):
    document_image: Base64Media


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
        check_mode=body.check_mode,
        language=body.language,
    )
    return {**out, "RequestId": rid}


@router.get("/v1/sessions/{biz_token}/result", name="DescribeSessionResult")
def session_result(biz_token: str, sessions: SessionServiceDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    return {**sessions.result(caller.app_id, biz_token), "RequestId": rid}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get("/verify/{biz_token}", name="VerificationPage", response_class=HTMLResponse)
def page(biz_token: str, request: Request, sessions: SessionServiceDep) -> HTMLResponse:
    accept_language = request.headers.get("accept-language")
    try:
        context = sessions.page_context(biz_token)
    except ResourceNotFound:
        if not _wants_html(request):
            raise
        return link_page("unknown", choose(None, None, accept_language), status_code=404)
    language = choose(context["session_language"], context["rule_language"], accept_language)
    if not context["open"]:
        return link_page(context["state"], language, context=context)
    return verify_page(context, language)


@router.post("/verify/{biz_token}/notice", name="AnswerSessionNotice")
def page_notice(biz_token: str, body: NoticeIn, sessions: SessionServiceDep, address: ClientIpDep) -> dict[str, Any]:
    return sessions.answer_notice(biz_token, agree=body.agree, use_silent=body.silent, client_ip=address)


@router.post("/verify/{biz_token}/sequence", name="CreateSessionReflectSequence")
def page_sequence(biz_token: str, sessions: SessionServiceDep, address: ClientIpDep) -> dict[str, Any]:
    return sessions.sequence(biz_token, address)


@router.post("/verify/{biz_token}/challenge", name="CreateSessionChallenge")
def page_challenge(biz_token: str, sessions: SessionServiceDep, address: ClientIpDep) -> dict[str, Any]:
    return sessions.challenge(biz_token, address)


@router.post("/verify/{biz_token}/document", name="CheckSessionDocument")
def page_document(
    biz_token: str, body: DocumentSideIn, sessions: SessionServiceDep, address: ClientIpDep
) -> dict[str, Any]:
    return sessions.check_document(biz_token, decode_b64(body.document_image, "document_image"), address)


@router.post("/verify/{biz_token}/submit", name="SubmitSessionVideo")
def page_submit(
    biz_token: str, body: SubmitIn, request: Request, sessions: SessionServiceDep, address: ClientIpDep
) -> dict[str, Any]:
    out = sessions.submit(
        biz_token,
        decode_b64(body.video, "video") if body.video else None,
        body.reflect_sequence_id,
        address,
        document_image=decode_b64(body.document_image, "document_image") if body.document_image else None,
        attempt_id=body.attempt_id,
        challenge_id=body.challenge_id,
        document_back_image=decode_b64(body.document_back_image, "document_back_image")
        if body.document_back_image
        else None,
    )
    request.state.app_id = out.pop("app_id")  # the call is billed to the session's app
    if not out.pop("repeated"):  # a retried upload of an attempt already answered is not billed again
        metered(request, out["Result"])
    return out
