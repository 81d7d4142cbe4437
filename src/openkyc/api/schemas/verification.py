"""Answers of liveness, selfie and identity verification, stored results and the
hosted verification sessions (BizToken), including the hosted page's own calls."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from openkyc.api.schemas.common import Answer, Page, Strict
from openkyc.api.schemas.documents import DocumentStep, Mrz

Evidence = dict[str, Any]  # the checker's measurements: they differ by liveness mode and model


class ReflectSequence(Strict):
    sequence_id: str
    colours: list[str] = Field(description="#rrggbb, shown in order.")
    durations_ms: list[int]
    expires_at: str


class ReflectSequenceAnswer(ReflectSequence, Answer):
    pass


class TimedAction(Strict):
    action: str
    prompt_ms: int
    window_start_ms: int
    window_end_ms: int


class TimedColour(Strict):
    color: str
    start_ms: int
    end_ms: int


class Schedule(Strict):
    actions: list[TimedAction]
    colors: list[TimedColour] | None
    record_ms: int


class Challenge(Strict):
    challenge_id: str
    schedule: Schedule
    expires_at: str


class ChallengeAnswer(Challenge, Answer):
    pass


class Liveness(Strict):
    live: bool
    score: float
    code: str
    mode: str
    evidence: Evidence
    best_frame_box: list[float] | None


class LivenessAnswer(Liveness, Answer):
    Result: str
    Description: str
    verification_id: str
    best_frame: str | None = Field(description="The best frame as base64 JPEG, or null.")


class SelfieAnswer(Answer):
    Result: str
    Description: str
    sim: float | None
    threshold: float
    live: bool
    liveness: Liveness
    verification_id: str


class LivenessStep(Liveness):
    pass


class CompareStep(Strict):
    code: str | None
    sim: float | None
    threshold: float


class IdentitySteps(Strict):
    document: DocumentStep
    liveness: LivenessStep | None = None
    compare: CompareStep | None = None


class IdentityAnswer(Answer):
    Result: str
    Description: str
    sim: float | None = Field(description="Document portrait against the best frame; null when not compared.")
    fields: dict[str, str] = Field(description="Identification fields read from the document.")
    mrz: Mrz | None
    steps: IdentitySteps
    verification_id: str


class Verification(Strict):
    verification_id: str
    kind: str
    subject_id: str | None
    Result: str
    live: bool | None
    sim: float | None
    details: dict[str, Any] = Field(description="The stored evidence of each step (liveness, document, compare).")
    identification: dict[str, Any] | None
    created_at: str
    expires_at: str


class VerificationAnswer(Verification, Answer):
    pass


class VerificationSummary(Strict):
    verification_id: str
    kind: str
    Result: str
    live: bool | None
    has_subject: bool
    created_at: str
    expires_at: str


class VerificationsPage(Page):
    verifications: list[VerificationSummary]


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
    result: Verification | None = Field(description="The stored result, once a recording was judged.")
    extra: str | None
    created_at: str
    expires_at: str


class SessionSummary(Strict):
    session_ref: str
    rule_id: str | None
    state: str
    attempts: int
    verification_id: str | None
    actions: list[str]
    created_at: str
    expires_at: str


class SessionsPage(Page):
    sessions: list[SessionSummary]


class NoticeAnswer(Strict):
    """The hosted page's answer to the notice: agreed (consent recorded) or declined (back to the shop)."""

    state: str
    consent_id: int | None = None
    text_version: str | None = None
    redirect_url: str | None = None


class DocumentSideAnswer(Strict):
    """The hosted page's look at one side of the document: nothing stored, no attempt used."""

    code: str = Field(description="Success when a document was read, else the document step's failure code.")
    needs_back: bool = Field(description="Whether the document's other side is needed (ID cards, TD1 fronts).")


class SubmitAnswer(Strict):
    """The hosted page's answer to a recording: the result and what the page does next."""

    Result: str
    Description: str
    finished: bool
    attempts_left: int
    redirect_url: str | None
