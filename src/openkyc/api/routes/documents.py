"""Document OCR and identity verification (document + selfie video)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openkyc.api.deps import DocumentServiceDep, RequestIdDep, VerificationServiceDep, metered
from openkyc.api.payloads import Base64Media, Body, decode_b64
from openkyc.api.routes.verification import LivenessIn

router = APIRouter()


class OcrIn(Body):
    image: Base64Media
    rule_id: str | None = None


class IdentityIn(LivenessIn):
    document_image: Base64Media
    document_back_image: Base64Media | None = None  # the other side of a card (read with the front as one)


@router.post("/v1/documents/ocr", name="RecognizeDocument")
def ocr(body: OcrIn, request: Request, documents: DocumentServiceDep, rid: RequestIdDep) -> dict[str, Any]:
    out = documents.ocr(decode_b64(body.image, "image"), body.rule_id)
    metered(request, out["Result"])
    return {**out, "RequestId": rid}


@router.post("/v1/verifications/identity", name="VerifyIdentity")
def identity(
    body: IdentityIn, request: Request, verifications: VerificationServiceDep, rid: RequestIdDep
) -> dict[str, Any]:
    out = verifications.identity(
        decode_b64(body.document_image, "document_image"),
        decode_b64(body.video, "video"),
        rule_id=body.rule_id,
        mode=body.mode,
        actions=body.actions,
        sequence_id=body.reflect_sequence_id,
        subject_id=body.subject_id,
        challenge_id=body.challenge_id,
        document_back_image=decode_b64(body.document_back_image, "document_back_image")
        if body.document_back_image
        else None,
    )
    metered(request, out["Result"])
    return {**out, "RequestId": rid}
