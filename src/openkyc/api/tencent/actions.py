"""What a Tencent-compatible action is: its service, version, parameters and the OpenKYC service it runs.

Each handler receives a :class:`Context` (the OpenKYC services of the calling app, built by the
route) and its validated parameters, and returns the ``Response`` fields. It never reimplements a
check: it translates names and codes around one call of an existing service.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from openkyc.documents.service import DocumentService
from openkyc.errors import (
    ImageSizeTooLarge,
    InvalidParameter,
    InvalidParameterValue,
    MissingParameter,
    OpenKYCError,
    UnsupportedOperation,
    VideoTooLarge,
)
from openkyc.verification.service import VerificationService
from openkyc.verification.sessions import SessionService

FACEID_VERSION = "2018-03-01"
OCR_VERSION = "2018-11-19"
IMAGE_MAX_BYTES = 3 * 1024 * 1024  # Tencent: an image at most 3 MB
VIDEO_MAX_BYTES = 8 * 1024 * 1024  # Tencent: a video at most 8 MB


class Params(BaseModel):
    """Request parameters in Tencent's names; a name Tencent's SDK would not send is refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InvalidAction(InvalidParameter):
    code = "InvalidAction"
    default_message = "The action does not exist."


class NoSuchVersion(InvalidParameter):
    code = "NoSuchVersion"
    default_message = "The API version does not exist."


class UnknownParameter(InvalidParameter):
    code = "UnknownParameter"
    default_message = "An unknown parameter was sent."


class NotServed(UnsupportedOperation):
    """An action OpenKYC cannot serve honestly (docs/tencent.md says why)."""

    code = "UnsupportedOperation"
    default_message = "OpenKYC does not serve this action."


@dataclass
class Context:
    """The calling app's services for one call, and what its answer needs."""

    app_id: int
    verifications: VerificationService
    documents: DocumentService
    sessions: SessionService
    base_url: str
    client_ip: str | None
    request_id: str


@dataclass(frozen=True)
class Outcome:
    """A handler's answer: the ``Response`` fields, and how the call is metered.

    ``native_action`` is the OpenKYC action recorded for the call (usage, bills, quotas count it
    as that native call); ``result_code`` set means billable, as the native route would bill it.
    """

    fields: dict[str, Any]
    native_action: str
    result_code: str | None = None
    billable: bool = False


@dataclass(frozen=True)
class Action:
    name: str
    service: str  # the TC3 credential scope's service: faceid or ocr
    params: type[Params]
    handler: Callable[[Context, Any], Outcome]
    native_action: str
    support: str  # "supported", "partly", "not"
    notes: str = ""
    version: str = field(default="")

    @property
    def api_version(self) -> str:
        return self.version or (OCR_VERSION if self.service == "ocr" else FACEID_VERSION)


def parse(model: type[Params], data: Any) -> Any:
    """Validated parameters; errors name the fields, never their values."""
    if not isinstance(data, dict):
        raise InvalidParameter("The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        names = ", ".join(".".join(str(p) for p in err.get("loc", ())) or "body" for err in errors[:5])
        kinds = {err.get("type") for err in errors}
        if kinds == {"missing"}:
            raise MissingParameter(f"Missing parameter: {names}.") from None
        if kinds == {"extra_forbidden"}:
            raise UnknownParameter(f"Unknown parameter: {names}.") from None
        raise InvalidParameterValue(f"Invalid value for: {names}.") from None


def media(value: str | None, name: str, limit: int, *, video: bool = False) -> bytes:
    """Base64 media (a ``data:`` prefix is tolerated) within Tencent's size limit."""
    if not value:
        raise MissingParameter(f"Missing parameter: {name}.")
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    compact = "".join(value.split())
    if len(compact) * 3 // 4 > limit + 3:
        raise _too_large(name, limit, video)
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameterValue(f"{name} is not valid base64.") from exc
    if not data:
        raise InvalidParameterValue(f"{name} is empty.")
    if len(data) > limit:
        raise _too_large(name, limit, video)
    return data


def reference_image(compare: bool, value: str | None, name: str, limit: int) -> bytes | None:
    """A session's reference photo: needed when it compares faces, else not used (None)."""
    if not compare:
        return None
    if not value:
        raise MissingParameter(f"Liveness and face comparison needs {name}.")
    return media(value, name, limit)


def _too_large(name: str, limit: int, video: bool) -> OpenKYCError:
    message = f"{name} is larger than {limit // (1024 * 1024)} MB."
    return VideoTooLarge(message) if video else ImageSizeTooLarge(message)
