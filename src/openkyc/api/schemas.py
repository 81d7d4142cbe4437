"""Answer models of the HTTP API, for the OpenAPI document and the contract test.

Each model describes the JSON a route sends (top-level fields strict; inner evidence and rule
configuration left open). :mod:`openkyc.api.openapi` puts them in the document by operation id;
``tests/client/test_contract.py`` validates served answers against them, so the document cannot
claim a field the service does not send, or miss one it does.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    RequestId: str = Field(description="The call's id: quote it to operators (GET /v1/requests/{id}).")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Code: str = Field(description="Stable error code, e.g. AuthFailure.SignatureFailure.")
    Message: str


class ErrorEnvelope(BaseModel):
    """Every error of the native API (4xx/5xx)."""

    model_config = ConfigDict(extra="forbid")

    Error: ErrorDetail
    RequestId: str | None


class TencentResponse(BaseModel):
    """The Tencent-compatible answer: the action's fields, or ``Error``, and ``RequestId`` (HTTP 200)."""

    model_config = ConfigDict(extra="allow")

    RequestId: str
    Error: ErrorDetail | None = None


class TencentEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Response: TencentResponse


class HealthAnswer(Answer):
    status: str
    database: str
    ready: bool = Field(description="Whether start-up has loaded the 1:N index and warmed every model set.")


class AccountAnswer(Answer):
    account_id: int
    app_id: int
    app_name: str


class RuleAnswer(Answer):
    rule_id: str
    name: str
    version: int
    config: dict[str, Any]
    created_at: str
    updated_at: str


class DetectFaceAnswer(Answer):
    width: int
    height: int
    face_count: int
    faces: list[dict[str, Any]]


class CompareFaceAnswer(Answer):
    sim: float
    match: bool
    threshold: float


class CollectionAnswer(Answer):
    collection_id: str
    name: str
    duplicate_check: bool
    embedder: str


class SubjectAnswer(Answer):
    collection_id: str
    subject_id: str
    quality: dict[str, Any]
    image_retained_until: str | None


class SearchAnswer(Answer):
    collection_id: str
    threshold: float
    matches: list[dict[str, Any]]


class ReflectSequenceAnswer(Answer):
    sequence_id: str
    colours: list[str]
    durations_ms: list[int]
    expires_at: str


class LivenessAnswer(Answer):
    live: bool
    score: float
    code: str
    mode: str
    evidence: dict[str, Any]
    best_frame_box: list[float] | None
    Result: str
    Description: str
    verification_id: str
    best_frame: str | None


class SelfieAnswer(Answer):
    Result: str
    Description: str
    sim: float | None
    threshold: float
    live: bool
    liveness: dict[str, Any]
    verification_id: str


class VerificationAnswer(Answer):
    verification_id: str
    kind: str
    subject_id: str | None
    Result: str
    live: bool | None
    sim: float | None
    details: dict[str, Any]
    identification: dict[str, Any] | None
    created_at: str
    expires_at: str


class DocumentAnswer(Answer):
    code: str
    document_type: str | None
    fields: dict[str, str]
    mrz: dict[str, Any] | None
    warnings: list[str]
    portrait: dict[str, Any] | None
    Result: str
    rule_type: str | None
    failing_warnings: list[str]
    expired: bool | None = Field(description="Whether the MRZ expiry date is past; null without an MRZ or expiry.")
    corrections: list[dict[str, Any]] = Field(description="MRZ characters corrected under the check digits.")
    mrz_valid: bool | None = Field(description="Whether every MRZ check digit holds; null without an MRZ.")
    mrz_invalid: list[dict[str, str]] = Field(description="MRZ fields found invalid: field and reason.")
    age_verified: bool | None = Field(
        default=None, description="Sent only when the rule sets min_age: the holder is at least that old."
    )


class SessionAnswer(Answer):
    biz_token: str
    verification_url: str
    expires_at: str
    check_mode: str = Field(description="The session's steps, e.g. document+liveness+compare.")


class SessionResultAnswer(Answer):
    biz_token: str
    state: str
    check_mode: str
    consented: bool = Field(description="Whether the end user agreed to the page's notice.")
    attempts: int
    result: dict[str, Any] | None
    extra: str | None
    created_at: str
    expires_at: str


class UsageItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str
    result_code: str
    billable: bool
    calls: int


class UsageAnswer(Answer):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    items: list[UsageItem]
    total_calls: int
    billable_calls: int


# operation id: the model of its 200 answer
ANSWERS: dict[str, type[BaseModel]] = {
    "Health": HealthAnswer,
    "DescribeAccount": AccountAnswer,
    "CreateRule": RuleAnswer,
    "DescribeRule": RuleAnswer,
    "ModifyRule": RuleAnswer,
    "DetectFace": DetectFaceAnswer,
    "CompareFace": CompareFaceAnswer,
    "CreateCollection": CollectionAnswer,
    "CreateSubject": SubjectAnswer,
    "SearchFaces": SearchAnswer,
    "CreateReflectSequence": ReflectSequenceAnswer,
    "DetectLiveness": LivenessAnswer,
    "VerifySelfie": SelfieAnswer,
    "DescribeVerification": VerificationAnswer,
    "RecognizeDocument": DocumentAnswer,
    "CreateSession": SessionAnswer,
    "DescribeSessionResult": SessionResultAnswer,
    "DescribeUsage": UsageAnswer,
    "TencentAction": TencentEnvelope,
}

# operations that run a model: a check that failed on understood input (422), a full model queue (503)
MODEL_OPERATIONS = frozenset(
    {
        "DetectFace",
        "CompareFace",
        "CreateSubject",
        "SearchFaces",
        "DetectLiveness",
        "VerifySelfie",
        "RecognizeDocument",
        "VerifyIdentity",
        "CreateSession",
        "SubmitSessionVideo",
        "CheckSessionDocument",
        "AddImprovementSample",
    }
)
