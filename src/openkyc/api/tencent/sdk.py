"""Tencent's SDK token actions on OpenKYC's hosted sessions (``POST /v1/sessions``).

``ApplyLivenessToken``, ``GetFaceIdTokenIntl`` and ``ApplySdkVerificationToken`` create a hosted
session: the ``SdkToken`` is the session's biz token and the answer also carries its
``VerificationURL``, the hosted page that replaces Tencent's native SDK (open it in a WebView; with
no redirect URL, the page ends on itself with ``?biz_token=``). ``GetLivenessResult``,
``GetFaceIdResultIntl`` and ``GetSdkVerificationResult`` read the session's result in Tencent's
names and types. An unknown token: ``InvalidParameterValue.BizTokenIllegal``; a token whose
session ended with no result (expired, declined): ``InvalidParameterValue.BizTokenExpired``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from openkyc.api.tencent.actions import (
    IMAGE_MAX_BYTES,
    Action,
    Context,
    Outcome,
    Params,
    reference_image,
)
from openkyc.api.tencent.cards import SDK_CARD_TYPES, card_verify_results, document_options
from openkyc.api.tencent.envelope import RESULT_CODES
from openkyc.api.tencent.faceid import CHECK_MODES, verification_detail, web_code
from openkyc.config.rules import SessionDocumentOptions
from openkyc.errors import InvalidParameterValue, MissingParameter
from openkyc.verification.service import describe

TOKEN_EXPIRED = "InvalidParameterValue.BizTokenExpired"
NOT_FINISHED = "The verification has not finished."


class SdkTokenParams(Params):
    SdkToken: str | None = Field(default=None, max_length=128)


class ApplyLivenessTokenParams(Params):
    SecureLevel: str | None = Field(default=None, pattern=r"^[1-4]$")


class GetFaceIdTokenIntlParams(Params):
    CheckMode: str | None = Field(default=None, pattern=r"^(liveness|compare)$")
    SecureLevel: str | None = Field(default=None, pattern=r"^[1-4]$")
    Image: str | None = None
    Extra: str | None = Field(default=None, max_length=1000)
    ActionList: str | None = Field(default=None, max_length=64)
    SdkVersion: str | None = Field(default=None, max_length=16)
    RetryLimit: int | None = Field(default=None, ge=1, le=5)
    EnableBotBgDetection: bool | None = None
    MetaData: str | None = Field(default=None, max_length=4096)


class ApplySdkVerificationTokenParams(Params):
    CheckMode: int | None = Field(default=None, ge=1, le=3)
    SecurityLevel: int | None = Field(default=None, ge=1, le=4)
    IdCardType: str | None = Field(default=None, max_length=64)
    CompareImage: str | None = None
    DisableChangeOcrResult: bool | None = None
    DisableCheckOcrWarnings: bool | None = None
    SelectedWarningCodes: list[int] | None = None
    Extra: str | None = Field(default=None, max_length=1000)
    SdkVersion: str | None = Field(default=None, max_length=16)
    ActionList: str | None = Field(default=None, max_length=64)
    AllowExpiredDocument: bool | None = None
    SkipResultPage: bool | None = None
    CardOcrDisplayFields: list[str] | None = None
    RetryLimit: int | None = Field(default=None, ge=1, le=5)
    EnableForgeryDetectionImages: bool | None = None
    MetaData: str | None = Field(default=None, max_length=4096)
    SkipLaunchPage: bool | None = None
    SkipOcrConfirmPage: bool | None = None
    HideProgressBar: bool | None = None
    AllowUploadPhoto: bool | None = None
    EnableBotBgDetection: bool | None = None
    OcrAutoDetectTimeout: int | None = None
    OcrModeType: str | None = Field(default=None, max_length=32)


def _session(
    ctx: Context,
    check_mode: str,
    image: bytes | None,
    extra: str | None,
    level: str | None,
    options: SessionDocumentOptions | None = None,
) -> dict[str, Any]:
    """A hosted session for the token. Security level 1 (silent) asks for silent liveness with no
    timed challenge; the other levels keep the defaults (a timed challenge in the default mode)."""
    out = ctx.sessions.create(
        ctx.app_id,
        rule_id=None,
        redirect_url=None,
        compare_image=image,
        extra=extra,
        base_url=ctx.base_url,
        client_ip=ctx.client_ip,
        check_mode=check_mode,
        plain_silent=level == "1",
        document_options=options,
    )
    return {"SdkToken": out["biz_token"], "VerificationURL": out["verification_url"]}


def apply_liveness_token(ctx: Context, p: ApplyLivenessTokenParams) -> Outcome:
    return Outcome(_session(ctx, "liveness", None, None, p.SecureLevel or "4"), "CreateSession")


def get_face_id_token(ctx: Context, p: GetFaceIdTokenIntlParams) -> Outcome:
    compare = (p.CheckMode or "liveness") == "compare"
    if not compare and p.Image:
        raise InvalidParameterValue("Image is used only with CheckMode compare.")
    image = reference_image(compare, p.Image, "Image", IMAGE_MAX_BYTES)
    fields = _session(ctx, "liveness+compare" if compare else "liveness", image, p.Extra, p.SecureLevel or "4")
    return Outcome({**fields, "ServerParamInfo": None}, "CreateSession")


def apply_sdk_verification_token(ctx: Context, p: ApplySdkVerificationTokenParams) -> Outcome:
    check_mode = p.CheckMode or 1  # Tencent's default: OCR + liveness + comparison with the card's portrait
    options = None  # the document step's card type and expiry choice (CheckMode 1)
    if check_mode == 1:
        options = document_options(p.IdCardType, SDK_CARD_TYPES, "IdCardType", p.AllowExpiredDocument)
    image = reference_image(check_mode == 2, p.CompareImage, "CompareImage", IMAGE_MAX_BYTES)
    fields = _session(ctx, CHECK_MODES[check_mode], image, p.Extra, str(p.SecurityLevel or 4), options)
    return Outcome({**fields, "ServerParamInfo": None}, "CreateSession")


def _read(ctx: Context, token: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The session and its final result (None while it is open); a session that ended with no
    result answers BizTokenExpired."""
    if not token:
        raise MissingParameter("Missing parameter: SdkToken.")
    out = ctx.sessions.result(ctx.app_id, token)
    result = out["result"]
    if out["state"] == "created":
        return out, None
    if result is None:
        raise InvalidParameterValue(
            f"The SdkToken's verification ended ({out['state']}) with no result.", code=TOKEN_EXPIRED
        )
    return out, result


def get_liveness_result(ctx: Context, p: SdkTokenParams) -> Outcome:
    _, result = _read(ctx, p.SdkToken)
    fields: dict[str, Any] = {"Result": None, "Description": NOT_FINISHED, "BestFrame": None, "Video": None}
    if result is not None:
        code = result["Result"]
        fields.update(Result=RESULT_CODES.get(code, code), Description=describe(code))
    return Outcome(fields, "DescribeSessionResult")


def get_face_id_result(ctx: Context, p: SdkTokenParams) -> Outcome:
    out, result = _read(ctx, p.SdkToken)
    fields: dict[str, Any] = {
        "Result": None,
        "Description": NOT_FINISHED,
        "BestFrame": None,
        "Video": None,
        "ActionVideo": None,
        "Similarity": None,
        "Extra": out["extra"],
        "DeviceInfoLevel": None,
        "LivenessInfoTag": None,
    }
    if result is not None:
        code, message = web_code(result["Result"])
        fields.update(Result=str(code), Description=message, Similarity=result.get("sim"))
    return Outcome(fields, "DescribeSessionResult")


def compare_result(result: dict[str, Any]) -> dict[str, Any]:
    detail = verification_detail(result)
    compared = detail["CompareErrorCode"] is not None
    return {
        "ErrorCode": str(detail["ErrorCode"]),
        "ErrorMsg": detail["ErrorMsg"],
        "LiveErrorCode": str(detail["LivenessErrorCode"]),
        "LiveErrorMsg": detail["LivenessErrorMsg"],
        "CompareErrorCode": str(detail["CompareErrorCode"]) if compared else None,
        "CompareErrorMsg": detail["CompareErrorMsg"],
        "Sim": detail["Similarity"],
        "LiveData": None,
        "LiveVideo": None,
        "ActionVideo": None,
        "BestFrame": None,
        "ProfileImage": None,
        "CardInfoInputJson": None,
        "IsNeedCharge": None,
        "RequestId": detail["Seq"],
        "LivenessInfoTag": None,
    }


def get_sdk_verification_result(ctx: Context, p: SdkTokenParams) -> Outcome:
    out, final = _read(ctx, p.SdkToken)
    last = out["result"]  # the last attempt, also while the session is still open
    fields: dict[str, Any] = {
        "Result": None,
        "Description": NOT_FINISHED,
        "ChargeCount": out["attempts"],  # each submitted video that got a result is billed
        "CardVerifyResults": card_verify_results(last) if last else [],
        "CompareResults": [compare_result(last)] if last else [],
        "Extra": out["extra"],
        "DeviceInfoLevel": None,
    }
    if final is not None:
        code, message = web_code(final["Result"])
        fields.update(Result=str(code), Description=message)
    return Outcome(fields, "DescribeSessionResult")


def _action(name: str, params: type[Params], handler: Any, native: str, notes: str) -> Action:
    return Action(name, "faceid", params, handler, native, "partly", notes)


ACTIONS: tuple[Action, ...] = (
    _action("ApplyLivenessToken", ApplyLivenessTokenParams, apply_liveness_token, "CreateSession", "POST /v1/sessions"),
    _action("GetLivenessResult", SdkTokenParams, get_liveness_result, "DescribeSessionResult", "session result"),
    _action("GetFaceIdTokenIntl", GetFaceIdTokenIntlParams, get_face_id_token, "CreateSession", "POST /v1/sessions"),
    _action("GetFaceIdResultIntl", SdkTokenParams, get_face_id_result, "DescribeSessionResult", "session result"),
    _action(
        "ApplySdkVerificationToken",
        ApplySdkVerificationTokenParams,
        apply_sdk_verification_token,
        "CreateSession",
        "POST /v1/sessions; the OCR and page options: the rule decides",
    ),
    _action(
        "GetSdkVerificationResult",
        SdkTokenParams,
        get_sdk_verification_result,
        "DescribeSessionResult",
        "session result",
    ),
)
