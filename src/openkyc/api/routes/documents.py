"""Document OCR and identity verification (document + selfie video)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openkyc.api.deps import CallerDep, RequestIdDep, RuntimeDep, SessionDep, metered
from openkyc.api.payloads import Base64Media, Body, decode_b64
from openkyc.api.routes.verification import LivenessIn
from openkyc.documents.service import DocumentService
from openkyc.verification.service import VerificationService

router = APIRouter()


class OcrIn(Body):
    image: Base64Media
    rule_id: str | None = None


class IdentityIn(LivenessIn):
    document_image: Base64Media


@router.post("/v1/documents/ocr", name="RecognizeDocument")
def ocr(
    body: OcrIn, request: Request, runtime: RuntimeDep, caller: CallerDep, session: SessionDep, rid: RequestIdDep
) -> dict[str, Any]:
    out = DocumentService(runtime, session, caller.app_id).ocr(decode_b64(body.image, "image"), body.rule_id)
    metered(request, out["Result"])
    return {**out, "RequestId": rid}


@router.post("/v1/verifications/identity", name="VerifyIdentity")
def identity(
    body: IdentityIn, request: Request, runtime: RuntimeDep, caller: CallerDep, session: SessionDep, rid: RequestIdDep
) -> dict[str, Any]:
    out = VerificationService(runtime, session, caller.app_id).identity(
        decode_b64(body.document_image, "document_image"),
        decode_b64(body.video, "video"),
        rule_id=body.rule_id,
        mode=body.mode,
        actions=body.actions,
        sequence_id=body.reflect_sequence_id,
        subject_id=body.subject_id,
    )
    metered(request, out["Result"])
    return {**out, "RequestId": rid}
