"""Privacy over HTTP: consent, model-improvement samples, subject access (JSON or ZIP) and erasure,
hosted sessions by BizToken, the ROPA."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import Field

from openkyc.accounts.service import Caller
from openkyc.api.deps import CallerDep, RequestIdDep, RuntimeDep
from openkyc.api.payloads import Base64Media, Body, decode_b64
from openkyc.compliance.archive import build_archive
from openkyc.compliance.rights import RightsExport, SubjectRights
from openkyc.improvement.service import ImprovementService
from openkyc.privacy.reach import EndUser
from openkyc.privacy.service import ConsentService, record_of_processing
from openkyc.runtime import Runtime

router = APIRouter()

SUBJECT_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
SubjectIdStr = Field(min_length=1, max_length=128, pattern=SUBJECT_PATTERN)
SubjectPath = Annotated[str, Path(min_length=1, max_length=128, pattern=SUBJECT_PATTERN)]
TOKEN_PATTERN = r"^[A-Za-z0-9_\-]+$"
BizTokenPath = Annotated[str, Path(min_length=1, max_length=64, pattern=TOKEN_PATTERN)]
BizTokensQuery = Annotated[
    tuple[Annotated[str, Field(min_length=1, max_length=64, pattern=TOKEN_PATTERN)], ...],
    Query(max_length=50, description="hosted sessions (BizToken) of this person to include"),
]
ExportFormat = Literal["json", "zip"]


class ConsentIn(Body):
    subject_id: str = SubjectIdStr
    purpose: str = Field(default="model_improvement", max_length=48)
    text_version: str = Field(min_length=1, max_length=64)


class WithdrawIn(Body):
    subject_id: str = SubjectIdStr
    purpose: str = Field(default="model_improvement", max_length=48)


class SampleIn(Body):
    subject_id: str = SubjectIdStr
    image: Base64Media
    dataset: str = Field(default="default", min_length=1, max_length=36)


class EraseIn(Body):
    biz_tokens: list[Annotated[str, Field(min_length=1, max_length=64, pattern=TOKEN_PATTERN)]] = Field(
        default_factory=list, max_length=50
    )


@router.post("/v1/privacy/consents", name="RecordConsent")
def record_consent(body: ConsentIn, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    service = ConsentService(runtime.access, caller.app_id, caller.secret_id)
    return {**service.record(body.subject_id, body.purpose, body.text_version), "RequestId": rid}


@router.post("/v1/privacy/consents/withdraw", name="WithdrawConsent")
def withdraw_consent(body: WithdrawIn, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    service = ConsentService(runtime.access, caller.app_id, caller.secret_id)
    return {**service.withdraw(body.subject_id, body.purpose), "RequestId": rid}


@router.post("/v1/improvement/samples", name="AddImprovementSample")
def add_sample(body: SampleIn, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    image = decode_b64(body.image, "image")
    result = ImprovementService(runtime.access, caller.app_id).add_sample(body.subject_id, image, body.dataset)
    return {**result, "RequestId": rid}


def _rights(runtime: Runtime, caller: Caller) -> SubjectRights:
    return SubjectRights(runtime.access, caller.secret_id, runtime.face_index)


def _answer(result: RightsExport, fmt: ExportFormat, rid: str) -> Response:
    if fmt == "zip":
        return Response(
            build_archive(result),
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="openkyc-export.zip"', "X-Request-Id": rid},
        )
    return JSONResponse({**result.export.model_dump(mode="json"), "RequestId": rid})


@router.get("/v1/privacy/subjects/{subject_id}", name="DescribeSubjectData")
def export_subject(
    subject_id: SubjectPath,
    runtime: RuntimeDep,
    caller: CallerDep,
    rid: RequestIdDep,
    biz_token: BizTokensQuery = (),
    fmt: ExportFormat = Query("json", alias="format"),
) -> Response:
    target = EndUser(caller.app_id, subject_id, tuple(biz_token))
    return _answer(_rights(runtime, caller).export(target), fmt, rid)


@router.get("/v1/privacy/subjects/{subject_id}/export.zip", name="DownloadSubjectData")
def export_subject_zip(
    subject_id: SubjectPath, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep, biz_token: BizTokensQuery = ()
) -> Response:
    target = EndUser(caller.app_id, subject_id, tuple(biz_token))
    return _answer(_rights(runtime, caller).export(target), "zip", rid)


@router.post("/v1/privacy/subjects/{subject_id}/erase", name="EraseSubject")
def erase_subject(
    subject_id: SubjectPath, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep, body: EraseIn | None = None
) -> dict[str, Any]:
    target = EndUser(caller.app_id, subject_id, tuple(body.biz_tokens) if body else ())
    return {**_rights(runtime, caller).erase(target).model_dump(mode="json"), "RequestId": rid}


@router.get("/v1/privacy/sessions/{biz_token}", name="DescribeSessionData")
def export_session(
    biz_token: BizTokenPath,
    runtime: RuntimeDep,
    caller: CallerDep,
    rid: RequestIdDep,
    fmt: ExportFormat = Query("json", alias="format"),
) -> Response:
    return _answer(_rights(runtime, caller).export(EndUser(caller.app_id, None, (biz_token,))), fmt, rid)


@router.post("/v1/privacy/sessions/{biz_token}/erase", name="EraseSessionData")
def erase_session(biz_token: BizTokenPath, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    receipt = _rights(runtime, caller).erase(EndUser(caller.app_id, None, (biz_token,)))
    return {**receipt.model_dump(mode="json"), "RequestId": rid}


@router.get("/v1/privacy/ropa", name="DescribeRecordOfProcessing")
def ropa(
    runtime: RuntimeDep, caller: CallerDep, fmt: Literal["md", "json", "html"] = Query("md", alias="format")
) -> Response:
    document = record_of_processing(runtime.access, runtime.settings, fmt, app_ids=[caller.app_id])
    if fmt == "html":
        return HTMLResponse(document)
    if fmt == "json":
        return Response(document, media_type="application/json")
    return PlainTextResponse(document, media_type="text/markdown; charset=utf-8")
