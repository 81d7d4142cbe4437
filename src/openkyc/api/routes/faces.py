"""Face detection, 1:1 compare and 1:N collections."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from openkyc.api.deps import CallerDep, RequestIdDep, RuntimeDep, SessionDep, metered
from openkyc.api.payloads import Base64Media, Body, Identification, decode_b64
from openkyc.biometrics.service import FaceService
from openkyc.config.service import rule_config

router = APIRouter()

SubjectIdStr = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")


class DetectIn(Body):
    image: Base64Media


class CompareIn(Body):
    image_a: Base64Media
    image_b: Base64Media
    rule_id: str | None = None


class CollectionIn(Body):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[\w .\-]+$")
    duplicate_check: bool = False
    embedder: Literal["sface", "dlib", "fusion"] | None = None  # default: the rule's, else sface
    rule_id: str | None = None


class EnrolIn(Body):
    subject_id: str = SubjectIdStr
    image: Base64Media
    identification: Identification | None = None
    retain_image: bool = False
    rule_id: str | None = None


class SearchIn(Body):
    image: Base64Media
    top_k: int = Field(default=5, ge=1, le=100)


@router.post("/v1/faces/detect", name="DetectFace")
def detect(
    body: DetectIn, request: Request, runtime: RuntimeDep, caller: CallerDep, session: SessionDep, rid: RequestIdDep
) -> dict[str, Any]:
    result = FaceService(runtime, session, caller.app_id).detect(decode_b64(body.image, "image"))
    metered(request)
    return {**result, "RequestId": rid}


@router.post("/v1/faces/compare", name="CompareFace")
def compare(
    body: CompareIn, request: Request, runtime: RuntimeDep, caller: CallerDep, session: SessionDep, rid: RequestIdDep
) -> dict[str, Any]:
    image_a, image_b = decode_b64(body.image_a, "image_a"), decode_b64(body.image_b, "image_b")
    result = FaceService(runtime, session, caller.app_id).compare(image_a, image_b, body.rule_id)
    metered(request)
    return {**result, "RequestId": rid}


@router.post("/v1/collections", name="CreateCollection")
def create_collection(
    body: CollectionIn, runtime: RuntimeDep, caller: CallerDep, session: SessionDep, rid: RequestIdDep
) -> dict[str, Any]:
    return {
        **FaceService(runtime, session, caller.app_id).create_collection(
            body.name, body.duplicate_check, embedder=body.embedder, rule_id=body.rule_id
        ),
        "RequestId": rid,
    }


@router.get("/v1/collections/{collection_id}", name="DescribeCollection")
def describe_collection(
    collection_id: str, runtime: RuntimeDep, caller: CallerDep, session: SessionDep, rid: RequestIdDep
) -> dict[str, Any]:
    return {**FaceService(runtime, session, caller.app_id).describe_collection(collection_id), "RequestId": rid}


@router.post("/v1/collections/{collection_id}/subjects", name="CreateSubject")
def enrol(
    collection_id: str,
    body: EnrolIn,
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    session: SessionDep,
    rid: RequestIdDep,
) -> dict[str, Any]:
    image = decode_b64(body.image, "image")
    threshold = rule_config(session, caller.app_id, body.rule_id).compare_threshold
    identification = body.identification.model_dump(exclude_none=True) if body.identification else None
    result = FaceService(runtime, session, caller.app_id).enrol(
        collection_id, body.subject_id, image, identification, retain_image=body.retain_image, threshold=threshold
    )
    metered(request)
    return {**result, "RequestId": rid}


@router.post("/v1/collections/{collection_id}/search", name="SearchFaces")
def search(
    collection_id: str,
    body: SearchIn,
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    session: SessionDep,
    rid: RequestIdDep,
) -> dict[str, Any]:
    result = FaceService(runtime, session, caller.app_id).search(
        collection_id, decode_b64(body.image, "image"), body.top_k
    )
    metered(request)
    return {**result, "RequestId": rid}


@router.delete("/v1/collections/{collection_id}/subjects/{subject_id}", name="DeleteSubject")
def delete_subject(
    collection_id: str, subject_id: str, runtime: RuntimeDep, caller: CallerDep, session: SessionDep, rid: RequestIdDep
) -> dict[str, Any]:
    return {**FaceService(runtime, session, caller.app_id).delete_subject(collection_id, subject_id), "RequestId": rid}
