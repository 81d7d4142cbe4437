"""Tencent Cloud API v3's answer shape, and OpenKYC's error codes in Tencent's names.

Tencent answers every call with HTTP 200 and ``{"Response": {..., "RequestId": "..."}}``; a
refused call carries ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``. Tencent's
SDKs read the error only from a 200 with ``Content-Type: application/json``, so that is what the
compatible endpoint sends, for the gateway's refusals (signature, limits, body) as well.

This module imports nothing but the error tree: the gateway uses it before any route runs.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from openkyc.errors import OpenKYCError

TENCENT_SERVICES = frozenset({"faceid", "ocr"})

# OpenKYC codes whose Tencent name differs; a code not listed keeps its name (most OpenKYC codes
# are Tencent's already: AuthFailure.*, FailedOperation.LifePhoto*, FailedOperation.Action*, ...).
_COMMON: dict[str, str] = {
    "AuthFailure": "AuthFailure.InvalidAuthorization",
    "AuthFailure.MissingAuthHeader": "AuthFailure.InvalidAuthorization",
    "AuthFailure.SecretIdDisabled": "AuthFailure.SecretIdNotFound",
    "AuthFailure.RequestReplayed": "AuthFailure.SignatureFailure",
    "InvalidParameter.MalformedJSON": "InvalidParameter",
    "InvalidParameterValue.NulCharacter": "InvalidParameterValue",
    "InvalidParameterValue.Base64DecodeFailed": "InvalidParameterValue",
    "InvalidParameterValue.ImageDecodeFailed": "FailedOperation.ImageDecodeFailed",
    "InvalidParameterValue.ImageEmpty": "FailedOperation.EmptyImageError",
    "InvalidParameterValue.ImageTruncated": "FailedOperation.ImageDecodeFailed",
    "InvalidParameterValue.UnsupportedImageFormat": "FailedOperation.ImageDecodeFailed",
    "InvalidParameterValue.ImageAnimated": "FailedOperation.ImageDecodeFailed",
    "InvalidParameterValue.ImageBitDepthUnsupported": "FailedOperation.ImageDecodeFailed",
    "InvalidParameterValue.ImageSizeTooLarge": "FailedOperation.ImageSizeTooLarge",
    "InvalidParameterValue.IdempotencyKeyReused": "InvalidParameterValue",
    "ResourceInUse.IdempotencyKey": "RequestLimitExceeded",
    "RequestTimeout.BodyRead": "InvalidParameter",
    "ResourceNotFound.Rule": "InvalidParameterValue.RuleIdNotExist",
    "UnsupportedOperation.MethodNotAllowed": "UnsupportedOperation",
    "RequestLimitExceeded.MonthlyQuota": "RequestLimitExceeded",
    "ResourceUnavailable.ServerBusy": "RequestLimitExceeded",
}
_FACEID: dict[str, str] = {
    "InvalidParameterValue.ImageTooSmall": "FailedOperation.LifePhotoSizeError",
    "InvalidParameterValue.VideoDecodeFailed": "FailedOperation.VideoDecodeFailed",
    "InvalidParameterValue.UnsupportedVideoFormat": "FailedOperation.VideoDecodeFailed",
    "InvalidParameterValue.VideoNoVideoStream": "FailedOperation.VideoDecodeFailed",
    "InvalidParameterValue.VideoEmpty": "FailedOperation.VideoDecodeFailed",
    "InvalidParameterValue.VideoIsImage": "FailedOperation.VideoDecodeFailed",
    "InvalidParameterValue.VideoDurationExceeded": "FailedOperation.VideoDurationExceeded",
    "FailedOperation.LivessNoFace": "FailedOperation.ActionNodetectFace",
    "ResourceNotFound.Session": "InvalidParameterValue.BizTokenIllegal",
    "UnauthorizedOperation.SessionFinished": "InvalidParameterValue.BizTokenExpired",
}
_OCR: dict[str, str] = {
    "InvalidParameterValue.ImageTooSmall": "FailedOperation.IdCardTooSmall",
    "FailedOperation.DocumentNotFound": "FailedOperation.ImageNoIdCard",
    "FailedOperation.DocumentUnrecognized": "FailedOperation.ImageNoSpecifiedCard",
    "FailedOperation.MrzCheckFailed": "FailedOperation.OcrFailed",
}

# Result codes of a finished check (in ``Result``, not an error) that Tencent names differently.
RESULT_CODES: dict[str, str] = {
    "FailedOperation.LivessMultiFaces": "FailedOperation.SilentMultiFaceFail",
    "FailedOperation.LivessFaceLost": "FailedOperation.ActionNodetectFace",
    "FailedOperation.LivessFaceChanged": "FailedOperation.LivessDetectFail",
    "FailedOperation.LivessReflectFail": "FailedOperation.LivessDetectFail",
}


def tencent_code(code: str, service: str = "faceid") -> str:
    """The Tencent name of an OpenKYC error code for ``service`` (``faceid`` or ``ocr``)."""
    specific = _OCR if service == "ocr" else _FACEID
    return specific.get(code) or _COMMON.get(code) or code


def is_tencent_call(method: str, path: str, prefix: str | None) -> bool:
    """A Tencent Cloud compatible call: ``POST /``, or ``POST`` to the configured prefix."""
    return method == "POST" and (path == "/" or (prefix is not None and path.rstrip("/") == prefix.rstrip("/")))


def tencent_response(
    body: dict[str, Any], request_id: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"Response": {**body, "RequestId": request_id}}, status_code=200, headers=headers)


def tencent_envelope(error: OpenKYCError, request_id: str | None, service: str = "faceid") -> JSONResponse:
    """An error in Tencent's shape, HTTP 200 (``Retry-After`` kept when the error has one)."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    body = {"Error": {"Code": tencent_code(error.error_code, service), "Message": error.message}}
    return tencent_response(body, request_id, headers)
