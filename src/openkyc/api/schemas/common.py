"""The parts every answer shares: ``RequestId``, the error envelope, Tencent's envelope, pages."""

from __future__ import annotations

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


class Strict(BaseModel):
    """An inner object whose fields are fixed."""

    model_config = ConfigDict(extra="forbid")


class Page(Answer):
    """A page of a list: ``next_cursor`` is passed as ``cursor`` for the next one (null: the last)."""

    next_cursor: str | None
