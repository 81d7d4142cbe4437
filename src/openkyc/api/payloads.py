"""Request-body helpers: base64 media fields with size limits, identification fields."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from openkyc.errors import InvalidParameterValue

Base64Media = Annotated[str, StringConstraints(min_length=1, max_length=24 * 1024 * 1024)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def decode_b64(value: str, field: str) -> bytes:
    """Standard or URL-safe base64, with or without a ``data:...;base64,`` prefix."""
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    compact = "".join(value.split())
    try:
        if "-" in compact or "_" in compact:
            data = base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
        else:
            data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameterValue(
            f"{field} is not valid base64.", code="InvalidParameterValue.Base64DecodeFailed"
        ) from exc
    if not data:
        raise InvalidParameterValue(f"{field} is empty.", code="InvalidParameterValue.Base64DecodeFailed")
    return data


class Identification(Body):
    """Identification fields an enrolment may carry; sealed at rest, never logged."""

    name: str | None = Field(default=None, max_length=256)
    id_number: str | None = Field(default=None, max_length=64)
    date_of_birth: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=512)
    country: str | None = Field(default=None, max_length=64)

    def __repr__(self) -> str:
        return "Identification(***)"

    __str__ = __repr__
