"""Tencent Cloud eKYC (``faceid``, version 2018-03-01) actions on OpenKYC's verification flows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from openkyc.api.tencent.actions import (
    IMAGE_MAX_BYTES,
    VIDEO_MAX_BYTES,
    Action,
    Context,
    NotServed,
    Outcome,
    Params,
    media,
    reference_image,
)
from openkyc.api.tencent.cards import WEB_CARD_TYPES, document_options, ocr_results
from openkyc.api.tencent.envelope import RESULT_CODES
from openkyc.errors import InvalidParameterValue, MissingParameter
from openkyc.liveness.checker import Mode
from openkyc.verification.service import describe
from openkyc.verification.sessions import validate_redirect

# ApplyWebVerificationBizTokenIntl's CompareImageBase64 may be up to 8 MB (Tencent's API reference)
COMPARE_IMAGE_MAX_BYTES = 8 * 1024 * 1024
# ValidateData of an ACTION check: Tencent's action numbers
ACTION_CODES = {"1": "mouth", "2": "blink", "3": "nod", "4": "shake"}
LIVENESS_TYPES: dict[str, Mode] = {"SILENT": "silent", "ACTION": "action", "REFLECTION": "reflection"}

# GetWebVerificationResultIntl's ErrorCode, from Tencent's eKYC error code table ("Selfie Verification
# (Mobile HTML5)": 0, 4, 15, 1004, 1005; tencentcloud.com/document/product/1061/55390) and the SDK's
# CompareResult codes (2012, 2016; tencentcloud-sdk-python-intl-en faceid/v20180301/models.py)
WEB_SUCCESS = (0, "Success")
WEB_TOKEN_EXPIRED = (15, "Token expired")
WEB_FACE_NOT_FOUND = (1004, "Face detection failed")
WEB_LIVENESS_FAILED = (1005, "Liveness detection failed")
WEB_MULTIPLE_FACES = (2012, "Multiple faces detected")
WEB_LOW_SIMILARITY = (2016, "The similarity did not reach the standard passing threshold")
WEB_INTERNAL = (4, "Internal service error")
# Tencent's CheckMode -> the hosted session's check_mode (1: OCR + liveness + comparison with the
# document's portrait, 2: liveness + comparison with CompareImageBase64, 3: liveness, 4: OCR)
CHECK_MODES = {1: "document+liveness+compare", 2: "liveness+compare", 3: "liveness", 4: "document"}


def _document_failure(result: str) -> bool:
    return result.startswith(("FailedOperation.Document", "FailedOperation.Mrz"))


def web_code(result: str) -> tuple[int, str]:
    """The Mobile HTML5 ``ErrorCode`` of an OpenKYC ``Result``."""
    if result == "Success":
        return WEB_SUCCESS
    if result == "FailedOperation.CompareLowSimilarity":
        return WEB_LOW_SIMILARITY
    if result == "FailedOperation.LivessMultiFaces":
        return WEB_MULTIPLE_FACES
    if result in {"FailedOperation.LivessFaceLost", "FailedOperation.LivessNoFace"}:
        return WEB_FACE_NOT_FOUND
    if result.startswith(("FailedOperation.Liv", "FailedOperation.Action", "FailedOperation.Silent")):
        return WEB_LIVENESS_FAILED
    if _document_failure(result):  # Tencent's tables have no document codes: 4, with OpenKYC's reason
        return WEB_INTERNAL[0], describe(result)
    return WEB_INTERNAL


# --- CompareFaceLiveness ---------------------------------------------------------------------


class CompareFaceLivenessParams(Params):
    ImageBase64: str | None = None
    VideoBase64: str | None = None
    LivenessType: str | None = None
    ValidateData: str | None = Field(default=None, max_length=64)


def _actions(validate_data: str | None) -> list[str] | None:
    if not validate_data:
        return None  # the rule's actions
    tokens = [t.strip() for t in validate_data.split(",") if t.strip()]
    if len(tokens) == 1 and len(tokens[0]) > 1 and tokens[0].isdigit():
        tokens = list(tokens[0])
    if not 1 <= len(tokens) <= 2 or any(t not in ACTION_CODES for t in tokens):
        raise InvalidParameterValue("ValidateData must be one or two of 1 (mouth), 2 (blink), 3 (nod), 4 (shake).")
    return [ACTION_CODES[t] for t in tokens]


def compare_face_liveness(ctx: Context, p: CompareFaceLivenessParams) -> Outcome:
    if p.LivenessType is None:
        raise MissingParameter("Missing parameter: LivenessType.")
    mode = LIVENESS_TYPES.get(p.LivenessType.upper())
    if mode is None:
        raise InvalidParameterValue("LivenessType must be SILENT, ACTION or REFLECTION.")
    image = media(p.ImageBase64, "ImageBase64", IMAGE_MAX_BYTES)
    video = media(p.VideoBase64, "VideoBase64", VIDEO_MAX_BYTES, video=True)
    actions = _actions(p.ValidateData) if mode == "action" else None
    sequence_id = None
    if mode == "reflection":  # ValidateData names a sequence from POST /v1/liveness/reflect-sequences
        if not p.ValidateData:
            raise MissingParameter("REFLECTION needs ValidateData: a reflect sequence id.")
        sequence_id = p.ValidateData
    out = ctx.verifications.selfie(
        video,
        image,
        rule_id=None,
        mode=mode,
        actions=actions,
        sequence_id=sequence_id,
        subject_id=None,
        with_best_frame=True,
    )
    fields = {
        "Result": RESULT_CODES.get(out["Result"], out["Result"]),
        "Description": out["Description"],
        "Sim": out["sim"] if out["sim"] is not None else 0.0,
        "BestFrameBase64": out.get("best_frame"),
    }
    return Outcome(fields, "VerifySelfie", out["Result"], billable=True)


# --- hosted verification (Mobile HTML5) ----------------------------------------------------------


class WebVerificationConfigIntl(Params):
    AutoSkipStartPage: bool | None = None
    AutoSkip: bool | None = None
    CheckMode: int | None = Field(default=None, ge=1, le=4)
    IDCardType: str | None = None
    DisableCheckOcrWarnings: bool | None = None
    SecurityLevel: int | None = None
    SkipPrivacyPolicy: bool | None = None
    IdCardCutReturn: bool | None = None
    ThemeColor: str | None = None
    Language: str | None = None
    AutoDowngrade: int | None = None
    ActionList: str | None = None
    LivenessRetryLimit: int | None = None
    LivenessTimeout: int | None = None
    SelectedWarningCodes: str | None = None
    AllowExpiredDocument: bool | None = None
    Version: str | None = None


class ApplyWebVerificationBizTokenIntlParams(Params):
    RedirectURL: str | None = Field(default=None, max_length=2048)
    CompareImageBase64: str | None = None
    Extra: str | None = Field(default=None, max_length=1000)
    RuleId: str | None = Field(default=None, max_length=64)
    Config: WebVerificationConfigIntl | None = None


def apply_web_verification(ctx: Context, p: ApplyWebVerificationBizTokenIntlParams) -> Outcome:
    if not p.RedirectURL:
        raise MissingParameter("Missing parameter: RedirectURL.")
    validate_redirect(p.RedirectURL)
    config = p.Config or WebVerificationConfigIntl()
    check_mode = config.CheckMode or 2
    options = None  # the document step's card type and expiry choice (CheckMode 1 and 4)
    if check_mode in (1, 4):
        options = document_options(config.IDCardType, WEB_CARD_TYPES, "IDCardType", config.AllowExpiredDocument)
    image = reference_image(check_mode == 2, p.CompareImageBase64, "CompareImageBase64", COMPARE_IMAGE_MAX_BYTES)
    out = ctx.sessions.create(
        ctx.app_id,
        rule_id=p.RuleId,
        redirect_url=p.RedirectURL,
        compare_image=image,
        extra=p.Extra,
        base_url=ctx.base_url,
        client_ip=ctx.client_ip,
        check_mode=CHECK_MODES[check_mode],
        document_options=options,
    )
    url = out["verification_url"]
    return Outcome({"BizToken": out["biz_token"], "VerificationURL": url, "VerificationUrl": url}, "CreateSession")


class GetWebVerificationResultIntlParams(Params):
    BizToken: str | None = Field(default=None, max_length=128)


def _millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def verification_detail(result: dict[str, Any]) -> dict[str, Any]:
    code, message = web_code(result["Result"])
    details = result.get("details") or {}
    live = result.get("live")
    liveness_code = details.get("liveness", {}).get("code") if isinstance(details.get("liveness"), dict) else None
    compared = result.get("sim") is not None
    compare_code = None
    compare_message = None
    if compared:
        passed = result["Result"] == "Success"
        compare_code, compare_message = WEB_SUCCESS if passed else WEB_LOW_SIMILARITY
    liveness: tuple[int | None, str | None] = WEB_SUCCESS if live else web_code(liveness_code or result["Result"])
    if result.get("kind") == "document":  # CheckMode 4: no liveness step
        liveness = (None, None)
    return {
        "ErrorCode": code,
        "ErrorMsg": message,
        "LivenessErrorCode": liveness[0],
        "LivenessErrorMsg": liveness[1],
        "CompareErrorCode": compare_code,
        "CompareErrorMsg": compare_message,
        "ReqTimestamp": _millis(result["created_at"]),
        "Similarity": result.get("sim"),
        "Seq": result["verification_id"],
    }


def get_web_verification_result(ctx: Context, p: GetWebVerificationResultIntlParams) -> Outcome:
    if not p.BizToken:
        raise MissingParameter("Missing parameter: BizToken.")
    out = ctx.sessions.result(ctx.app_id, p.BizToken)
    result = out["result"]
    fields: dict[str, Any] = {
        "ErrorCode": None,
        "ErrorMsg": None,
        "VerificationDetailList": [verification_detail(result)] if result else [],
        "VideoBase64": None,
        "BestFrameBase64": None,
        "OCRResult": ocr_results(result, out["check_mode"] == "document"),
        "Extra": out["extra"],
    }
    if out["state"] == "completed" and result is not None:
        fields["ErrorCode"], fields["ErrorMsg"] = web_code(result["Result"])
    elif out["state"] == "expired":
        fields["ErrorCode"], fields["ErrorMsg"] = WEB_TOKEN_EXPIRED
    return Outcome(fields, "DescribeSessionResult")


# --- actions OpenKYC does not serve ---------------------------------------------------------------


class AnyParams(Params):
    """Parameters of an action that is refused whatever it carries."""

    model_config = ConfigDict(extra="allow")


def _not_served(reason: str) -> Any:
    def handler(ctx: Context, p: AnyParams) -> Outcome:
        raise NotServed(reason)

    return handler


_REFLECT_URLS = (
    "exchanges the packages of Tencent's native reflection SDK (device data, light sequence, liveness "
    "data), which OpenKYC can neither read nor produce, by URL; OpenKYC fetches no URLs. Use "
    "CompareFaceLiveness with LivenessType REFLECTION and ValidateData set to a sequence id from "
    "POST /v1/liveness/reflect-sequences (docs/tencent.md, Reflection actions)."
)
NOT_SERVED: dict[str, str] = {
    "GenerateReflectSequence": _REFLECT_URLS,
    "DetectReflectLivenessAndCompare": _REFLECT_URLS,
    "DetectAIFakeFaces": (
        "would need a detector of AI-generated or swapped faces; OpenKYC has no such model and "
        "does not answer with a guess"
    ),
}

ACTIONS: tuple[Action, ...] = (
    Action(
        "CompareFaceLiveness",
        "faceid",
        CompareFaceLivenessParams,
        compare_face_liveness,
        "VerifySelfie",
        "supported",
        "POST /v1/verifications/selfie",
    ),
    Action(
        "ApplyWebVerificationBizTokenIntl",
        "faceid",
        ApplyWebVerificationBizTokenIntlParams,
        apply_web_verification,
        "CreateSession",
        "partly",
        "POST /v1/sessions; the page's options and liveness settings: the rule decides",
    ),
    Action(
        "GetWebVerificationResultIntl",
        "faceid",
        GetWebVerificationResultIntlParams,
        get_web_verification_result,
        "DescribeSessionResult",
        "partly",
        "GET /v1/sessions/{biz_token}/result; last attempt only, no video, best frame or card image",
    ),
    *(
        Action(name, "faceid", AnyParams, _not_served(f"{name} {why}"), name, "not", why)
        for name, why in NOT_SERVED.items()
    ),
)
