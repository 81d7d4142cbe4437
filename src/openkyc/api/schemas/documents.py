"""Answers of document OCR and the document step of identity verification: the MRZ, its checks
and corrections, the portrait."""

from __future__ import annotations

from pydantic import Field

from openkyc.api.schemas.common import Answer, Strict


class MrzCheck(Strict):
    name: str
    read: str
    expected: str
    ok: bool


class Correction(Strict):
    field: str
    index: int
    read: str
    corrected: str


class InvalidField(Strict):
    field: str
    reason: str


class VisualZone(Strict):
    checked: list[str] = Field(description="MRZ fields compared with the visual zone.")
    mismatches: list[str]


class Mrz(Strict):
    format: str
    lines: list[str]
    valid: bool
    checks: list[MrzCheck]
    expired: bool | None
    unknown_state_codes: list[str]
    corrections: list[Correction]
    visual_zone: VisualZone
    unconfirmed_fields: list[str] = Field(
        description="Alphanumeric MRZ fields under no check digit and not printed alike in the visual zone "
        "(the MRV optional data): read, but outside `valid`."
    )
    invalid: list[InvalidField]


class Portrait(Strict):
    box: list[float] = Field(description="[x, y, w, h] of the holder's photo in the document image.")
    score: float


class DocumentStep(Strict):
    code: str
    document_type: str | None
    warnings: list[str]
    mrz_valid: bool | None
    rule_type: str | None
    failing_warnings: list[str]
    expired: bool | None
    corrections: list[Correction]
    mrz_invalid: list[InvalidField]
    unconfirmed_fields: list[str] = Field(
        default_factory=list,
        description="Fields read that no check digit nor the visual zone vouches for (the MRV optional data, "
        "a MyKad, NIK or generic card number): outside the verdict; confirm them otherwise before relying on them.",
    )
    age_verified: bool | None = Field(default=None, description="Sent only when the rule sets min_age.")
    sides: int = Field(default=1, description="How many sides of the document were read (2 with document_back_image).")


class DocumentAnswer(Answer):
    code: str
    document_type: str | None
    fields: dict[str, str]
    mrz: Mrz | None
    warnings: list[str]
    portrait: Portrait | None
    Result: str
    rule_type: str | None
    failing_warnings: list[str]
    expired: bool | None = Field(description="Whether the MRZ expiry date is past; null without an MRZ or expiry.")
    corrections: list[Correction] = Field(description="MRZ characters corrected under the check digits.")
    mrz_valid: bool | None = Field(description="Whether every MRZ check digit holds; null without an MRZ.")
    mrz_invalid: list[InvalidField] = Field(description="MRZ fields found invalid: field and reason.")
    unconfirmed_fields: list[str] = Field(
        description="Fields read that no check digit nor the visual zone vouches for (the MRV optional data, "
        "a MyKad, NIK or generic card number): outside the verdict; confirm them otherwise before relying on them."
    )
    age_verified: bool | None = Field(
        default=None, description="Sent only when the rule sets min_age: the holder is at least that old."
    )
