"""Face detection, 1:1 compare and 1:N collections."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from openkyc.api.deps import FaceServiceDep, RequestIdDep, metered
from openkyc.api.payloads import Base64Media, Body, Identification, decode_b64
from openkyc.errors import InvalidParameter

router = APIRouter()

MAX_SEARCH_IMAGES = 16
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
    image: Base64Media | None = None  # one image, or ``images``: several searched in one scan
    images: list[Base64Media] | None = Field(default=None, min_length=1, max_length=MAX_SEARCH_IMAGES)
    top_k: int = Field(default=5, ge=1, le=100)
    rule_id: str | None = None  # its compare_threshold decides each hit's ``match`` (default 70)


@router.post("/v1/faces/detect", name="DetectFace")
def detect(body: DetectIn, request: Request, faces: FaceServiceDep, rid: RequestIdDep) -> dict[str, Any]:
    result = faces.detect(decode_b64(body.image, "image"))
    metered(request)
    return {**result, "RequestId": rid}


@router.post("/v1/faces/compare", name="CompareFace")
def compare(body: CompareIn, request: Request, faces: FaceServiceDep, rid: RequestIdDep) -> dict[str, Any]:
    image_a, image_b = decode_b64(body.image_a, "image_a"), decode_b64(body.image_b, "image_b")
    result = faces.compare(image_a, image_b, body.rule_id)
    metered(request)
    return {**result, "RequestId": rid}


@router.post("/v1/collections", name="CreateCollection")
def create_collection(body: CollectionIn, faces: FaceServiceDep, rid: RequestIdDep) -> dict[str, Any]:
    created = faces.create_collection(body.name, body.duplicate_check, embedder=body.embedder, rule_id=body.rule_id)
    return {**created, "RequestId": rid}


@router.get("/v1/collections/{collection_id}", name="DescribeCollection")
def describe_collection(collection_id: str, faces: FaceServiceDep, rid: RequestIdDep) -> dict[str, Any]:
    return {**faces.describe_collection(collection_id), "RequestId": rid}


@router.post("/v1/collections/{collection_id}/subjects", name="CreateSubject")
def enrol(
    collection_id: str, body: EnrolIn, request: Request, faces: FaceServiceDep, rid: RequestIdDep
) -> dict[str, Any]:
    image = decode_b64(body.image, "image")
    identification = body.identification.model_dump(exclude_none=True) if body.identification else None
    result = faces.enrol(
        collection_id, body.subject_id, image, identification, retain_image=body.retain_image, rule_id=body.rule_id
    )
    metered(request)
    return {**result, "RequestId": rid}


@router.post("/v1/collections/{collection_id}/search", name="SearchFaces")
def search(
    collection_id: str, body: SearchIn, request: Request, faces: FaceServiceDep, rid: RequestIdDep
) -> dict[str, Any]:
    if (body.image is None) == (body.images is None):
        raise InvalidParameter("Give either image or images.", code="InvalidParameter.ImageOrImages")
    if body.images is not None:
        images = [decode_b64(image, f"images[{i}]") for i, image in enumerate(body.images)]
        result = faces.search_batch(collection_id, images, body.top_k, body.rule_id)
    else:
        result = faces.search(collection_id, decode_b64(body.image or "", "image"), body.top_k, body.rule_id)
    metered(request)
    return {**result, "RequestId": rid}


@router.delete("/v1/collections/{collection_id}/subjects/{subject_id}", name="DeleteSubject")
def delete_subject(collection_id: str, subject_id: str, faces: FaceServiceDep, rid: RequestIdDep) -> dict[str, Any]:
    return {**faces.delete_subject(collection_id, subject_id), "RequestId": rid}
