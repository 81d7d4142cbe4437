"""Liveness, reflection sequences, selfie verification and stored results."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from openkyc.api.deps import RequestIdDep, VerificationServiceDep, metered
from openkyc.api.payloads import Base64Media, Body, decode_b64

router = APIRouter()

Action = Literal["blink", "mouth", "nod", "shake"]
SubjectId = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")


class LivenessIn(Body):
    video: Base64Media
    mode: Literal["silent", "action", "reflection", "challenge"] | None = None
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=2)
    reflect_sequence_id: str | None = Field(default=None, max_length=64)
    challenge_id: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    rule_id: str | None = None
    subject_id: str | None = SubjectId


class SelfieIn(LivenessIn):
    image: Base64Media


class ReflectSequenceIn(Body):
    """No fields: the body may be absent or ``{}``; anything else is refused, not ignored."""


@router.post("/v1/liveness/reflect-sequences", name="CreateReflectSequence")
def reflect_sequence(
    verifications: VerificationServiceDep, rid: RequestIdDep, body: ReflectSequenceIn | None = None
) -> dict[str, Any]:
    return {**verifications.issue_sequence(), "RequestId": rid}


class ChallengeIn(Body):
    reflection: bool = False


@router.post("/v1/liveness/challenges", name="CreateLivenessChallenge")
def liveness_challenge(body: ChallengeIn, verifications: VerificationServiceDep, rid: RequestIdDep) -> dict[str, Any]:
    return {**verifications.issue_challenge(reflection=body.reflection), "RequestId": rid}


@router.post("/v1/liveness", name="DetectLiveness")
def liveness(
    body: LivenessIn, request: Request, verifications: VerificationServiceDep, rid: RequestIdDep
) -> dict[str, Any]:
    out = verifications.liveness(
        decode_b64(body.video, "video"),
        rule_id=body.rule_id,
        mode=body.mode,
        actions=body.actions,
        sequence_id=body.reflect_sequence_id,
        subject_id=body.subject_id,
        challenge_id=body.challenge_id,
    )
    metered(request, out["Result"])
    return {**out, "RequestId": rid}


@router.post("/v1/verifications/selfie", name="VerifySelfie")
def selfie(
    body: SelfieIn, request: Request, verifications: VerificationServiceDep, rid: RequestIdDep
) -> dict[str, Any]:
    out = verifications.selfie(
        decode_b64(body.video, "video"),
        decode_b64(body.image, "image"),
        rule_id=body.rule_id,
        mode=body.mode,
        actions=body.actions,
        sequence_id=body.reflect_sequence_id,
        subject_id=body.subject_id,
        challenge_id=body.challenge_id,
    )
    metered(request, out["Result"])
    return {**out, "RequestId": rid}


@router.get("/v1/verifications/{verification_id}", name="DescribeVerification")
def result(verification_id: str, verifications: VerificationServiceDep, rid: RequestIdDep) -> dict[str, Any]:
    return {**verifications.result(verification_id), "RequestId": rid}
