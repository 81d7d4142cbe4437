"""Privacy over HTTP: consent, model-improvement samples, subject access and erasure, the ROPA."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import Field

from openkyc.api.deps import CallerDep, RequestIdDep, RuntimeDep
from openkyc.api.payloads import Base64Media, Body, decode_b64
from openkyc.improvement.service import ImprovementService
from openkyc.privacy.rights import SubjectRights
from openkyc.privacy.service import ConsentService, record_of_processing

router = APIRouter()

SUBJECT_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
SubjectIdStr = Field(min_length=1, max_length=128, pattern=SUBJECT_PATTERN)
SubjectPath = Annotated[str, Path(min_length=1, max_length=128, pattern=SUBJECT_PATTERN)]


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


@router.post("/v1/privacy/consents", name="RecordConsent")
def record_consent(body: ConsentIn, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    service = ConsentService(runtime, caller.app_id, caller.secret_id)
    return {**service.record(body.subject_id, body.purpose, body.text_version), "RequestId": rid}


@router.post("/v1/privacy/consents/withdraw", name="WithdrawConsent")
def withdraw_consent(body: WithdrawIn, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    service = ConsentService(runtime, caller.app_id, caller.secret_id)
    return {**service.withdraw(body.subject_id, body.purpose), "RequestId": rid}


@router.post("/v1/improvement/samples", name="AddImprovementSample")
def add_sample(body: SampleIn, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    image = decode_b64(body.image, "image")
    result = ImprovementService(runtime, caller.app_id).add_sample(body.subject_id, image, body.dataset)
    return {**result, "RequestId": rid}


@router.get("/v1/privacy/subjects/{subject_id}", name="DescribeSubjectData")
def export_subject(
    subject_id: SubjectPath, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep
) -> dict[str, Any]:
    return {**SubjectRights(runtime, caller.app_id, caller.secret_id).export(subject_id), "RequestId": rid}


@router.post("/v1/privacy/subjects/{subject_id}/erase", name="EraseSubject")
def erase_subject(subject_id: SubjectPath, runtime: RuntimeDep, caller: CallerDep, rid: RequestIdDep) -> dict[str, Any]:
    return {**SubjectRights(runtime, caller.app_id, caller.secret_id).erase(subject_id), "RequestId": rid}


@router.get("/v1/privacy/ropa", name="DescribeRecordOfProcessing")
def ropa(
    runtime: RuntimeDep, caller: CallerDep, fmt: Literal["md", "json", "html"] = Query("md", alias="format")
) -> Response:
    document = record_of_processing(runtime, fmt, app_ids=[caller.app_id])
    if fmt == "html":
        return HTMLResponse(document)
    if fmt == "json":
        return Response(document, media_type="application/json")
    return PlainTextResponse(document, media_type="text/markdown; charset=utf-8")
