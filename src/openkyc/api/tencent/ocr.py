"""Tencent Cloud OCR (``ocr``, version 2018-11-19) ID actions on OpenKYC's document reader.

Each action reads the photo with ``DocumentService.ocr`` (MRZ or ID-card template) and answers in
the action's field names; a document of another kind than the action reads is refused with the
action's own "no such card" code, as Tencent does.
"""

from __future__ import annotations

from typing import Any

from openkyc.api.tencent.actions import IMAGE_MAX_BYTES, Action, Context, NotServed, Outcome, Params, media
from openkyc.api.tencent.cards import full_name, hkid_card, mykad_card, warn_codes
from openkyc.errors import FailedOperation


class ImageParams(Params):
    ImageBase64: str | None = None
    ImageUrl: str | None = None
    RetImage: bool | None = None
    ReturnHeadImage: bool | None = None
    DetectFake: bool | None = None
    BackImageBase64: str | None = None
    BackImageUrl: str | None = None
    CropPortrait: bool | None = None
    EnableRecognitionRectify: bool | None = None
    EnableBorderCheck: bool | None = None
    EnableDetectText: bool | None = None


def _read(ctx: Context, p: ImageParams) -> dict[str, Any]:
    if p.ImageUrl or p.BackImageUrl:
        raise NotServed("ImageUrl is not served (OpenKYC fetches no URLs): send ImageBase64.")
    return ctx.documents.ocr(media(p.ImageBase64, "ImageBase64", IMAGE_MAX_BYTES), None)


def _refuse(code: str, what: str) -> FailedOperation:
    return FailedOperation(f"No {what} was recognised in the image.", code=code)


def passport(ctx: Context, p: ImageParams) -> Outcome:
    out = _read(ctx, p)
    mrz = out.get("mrz")
    if not mrz or mrz.get("format") != "TD3":
        raise _refuse("FailedOperation.NoPassport", "passport (an ICAO TD3 machine-readable zone)")
    f = out["fields"]
    lines = mrz["lines"]
    fields = {
        "ID": f.get("document_number", ""),
        "Name": full_name(f),
        "Surname": f.get("surname", ""),
        "GivenName": f.get("given_names", ""),
        "DateOfBirth": f.get("birth_date", ""),
        "Sex": f.get("sex", ""),
        "DateOfExpiration": f.get("expiry_date", ""),
        "IssuingCountry": f.get("issuing_state", ""),
        "Nationality": f.get("nationality", ""),
        "Type": f.get("document_code", ""),
        "CodeSet": lines[0] if lines else "",
        "CodeCrc": lines[1] if len(lines) > 1 else "",
        "Warn": [],
        "WarnCardInfos": warn_codes(out.get("warnings", [])),
        "IsComplete": bool(mrz.get("valid")),
        "AdvancedInfo": "1",
    }
    return Outcome(fields, "RecognizeDocument", out["Result"], billable=True)


def _card(
    ctx: Context, p: ImageParams, document_type: str, refusal: str, what: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    out = _read(ctx, p)
    if out.get("document_type") != document_type:
        raise _refuse(refusal, what)
    return out, out["fields"]


def hkid(ctx: Context, p: ImageParams) -> Outcome:
    out, f = _card(ctx, p, "HK_ID", "FailedOperation.NoHKIDCard", "Hong Kong identity card")
    fields = {
        **hkid_card(f),
        "FakeDetectResult": -1,
        "WarningCode": [],
        "WarnCardInfos": warn_codes(out.get("warnings", [])),
    }
    return Outcome(fields, "RecognizeDocument", out["Result"], billable=True)


def mykad(ctx: Context, p: ImageParams) -> Outcome:
    out, f = _card(ctx, p, "MY_MYKAD", "FailedOperation.NoMASIDCard", "Malaysian identity card")
    fields = {
        **mykad_card(f),
        "Warn": [],
        "AdvancedInfo": "1",
        "WarnCardInfos": warn_codes(out.get("warnings", [])),
    }
    return Outcome(fields, "RecognizeDocument", out["Result"], billable=True)


def indonesia(ctx: Context, p: ImageParams) -> Outcome:
    out, f = _card(ctx, p, "ID_NIK", "FailedOperation.ImageNoIdCard", "Indonesian identity card")
    fields = {"NIK": f.get("document_number", ""), "Nama": f.get("name", "")}
    return Outcome(fields, "RecognizeDocument", out["Result"], billable=True)


def singapore(ctx: Context, p: ImageParams) -> Outcome:
    out, f = _card(ctx, p, "SG_NRIC", "FailedOperation.ImageNoIdCard", "Singapore identity card")
    fields = {  # Tencent's RecognizeSingaporeIDCardOCRResponse names (EnName, Birthday)
        "ID": f.get("document_number", ""),
        "EnName": f.get("name", ""),
        "Birthday": f.get("birth_date_iso") or f.get("birth_date", ""),
        "WarnCardInfos": warn_codes(out.get("warnings", [])),
    }
    return Outcome(fields, "RecognizeDocument", out["Result"], billable=True)


def _thai(ctx: Context, p: ImageParams) -> Outcome:
    raise NotServed("RecognizeThaiIDCardOCR is not served: OpenKYC has no Thai ID-card template.")


ACTIONS: tuple[Action, ...] = (
    Action("MLIDPassportOCR", "ocr", ImageParams, passport, "RecognizeDocument", "supported", "TD3 MRZ fields"),
    Action("HKIDCardOCR", "ocr", ImageParams, hkid, "RecognizeDocument", "partly", "number, English name, birth date"),
    Action("MLIDCardOCR", "ocr", ImageParams, mykad, "RecognizeDocument", "partly", "number and name"),
    Action("RecognizeIndonesiaIDCardOCR", "ocr", ImageParams, indonesia, "RecognizeDocument", "partly", "NIK and name"),
    Action(
        "RecognizeSingaporeIDCardOCR", "ocr", ImageParams, singapore, "RecognizeDocument", "partly", "NRIC/FIN, name"
    ),
    Action("RecognizeThaiIDCardOCR", "ocr", ImageParams, _thai, "RecognizeThaiIDCardOCR", "not", "no Thai template"),
)
