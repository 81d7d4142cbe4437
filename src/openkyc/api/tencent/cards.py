"""The document step of Tencent's hosted and SDK flows: card types and card results in Tencent's shapes.

``ApplyWebVerificationBizTokenIntl`` (``Config.IDCardType``) and ``ApplySdkVerificationToken``
(``IdCardType``) name the card the end user shows; OpenKYC reads the card types it has a reader for
(MRZ documents and the ID-card templates) and refuses the others with ``UnsupportedOperation``,
since the page could never read them. The session's stored result (its document step and the
sealed identification fields) is answered as Tencent's ``OCRResult`` / ``CardVerifyResult`` with
a ``CardInfo`` of the kind that was read (``faceid/v20180301/models.py``). Images are not answered:
the hosted page's media are not kept for the customer.
"""

from __future__ import annotations

import json
from typing import Any, cast

from openkyc.api.tencent.actions import NotServed
from openkyc.config.rules import DocumentType, SessionDocumentOptions
from openkyc.errors import InvalidParameterValue

# Tencent's card types with no reader in OpenKYC (both actions' lists)
_NO_READER = (
    "PhilippinesVoteID",
    "PhilippinesDrivingLicense",
    "PhilippinesTinID",
    "PhilippinesSSSID",
    "PhilippinesUMID",
    "ThailandIDCard",
    "MainlandIDCard",
)
# WebVerificationConfigIntl.IDCardType -> the OpenKYC document type read (None: no reader)
WEB_CARD_TYPES: dict[str, str | None] = {
    "HKIDCard": "HK_ID",
    "MLIDCard": "MY_MYKAD",
    "IndonesiaIDCard": "ID_NIK",
    "InternationalIDPassport": "TD3",
    "SingaporeIDCard": "SG_NRIC",
    **dict.fromkeys(_NO_READER),
}
# ApplySdkVerificationTokenRequest.IdCardType -> the OpenKYC document type read (None: no reader)
SDK_CARD_TYPES: dict[str, str | None] = {
    "HK": "HK_ID",
    "ML": "MY_MYKAD",
    "IndonesiaIDCard": "ID_NIK",
    "MLIDPassport": "TD3",
    "SingaporeIDCard": "SG_NRIC",
    **dict.fromkeys((*_NO_READER, "HMTPermit")),
}


def check_card_type(value: str | None, table: dict[str, str | None], name: str) -> str | None:
    """The OpenKYC document type of a card type Tencent defines and OpenKYC reads (None: none named)."""
    if value is None:
        return None
    if value not in table:
        raise InvalidParameterValue(f"{name} must be one of {', '.join(table)}.")
    kind = table[value]
    if kind is None:
        raise NotServed(f"{name} {value} is not served: OpenKYC has no reader for this card.")
    return kind


def document_options(
    card_type: str | None, table: dict[str, str | None], name: str, allow_expired: bool | None
) -> SessionDocumentOptions | None:
    """The session's document options from Tencent's card type and ``AllowExpiredDocument``: the
    session takes only that card (among the rule's document types; a rule that does not take it
    refuses the call), and an expired document passes or not whatever the rule says. None: the
    rule decides both."""
    kind = check_card_type(card_type, table, name)
    if kind is None and allow_expired is None:
        return None
    return SessionDocumentOptions(
        document_types=[cast(DocumentType, kind)] if kind else None, allow_expired_document=allow_expired
    )


def hkid_card(f: dict[str, Any]) -> dict[str, Any]:
    """Tencent's ``HKIDCard`` from the Hong Kong template's fields (what it does not read is empty)."""
    return {
        "CnName": "",
        "EnName": f.get("name", ""),
        "TelexCode": "",
        "Sex": "",
        "Birthday": f.get("birth_date_iso") or f.get("birth_date", ""),
        "Permanent": -1,
        "IdNum": f.get("document_number", ""),
        "Symbol": "",
        "FirstIssueDate": "",
        "CurrentIssueDate": "",
    }


def mykad_card(f: dict[str, Any]) -> dict[str, Any]:
    """Tencent's ``MLIDCard`` from the MyKad template's fields."""
    return {
        "ID": f.get("document_number", ""),
        "Name": f.get("name", ""),
        "Address": "",
        "Sex": "",
        "Type": "MyKad",
        "Birthday": f.get("birth_date_iso") or f.get("birth_date", ""),
    }


def full_name(f: dict[str, Any]) -> str:
    """An MRZ's name as Tencent writes it: ``SURNAME GIVEN NAMES``."""
    return " ".join(part for part in (f.get("surname", ""), f.get("given_names", "")) if part)


def _passport(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "LicenseNumber": f.get("document_number", ""),
        "FullName": full_name(f),
        "Surname": f.get("surname", ""),
        "GivenName": f.get("given_names", ""),
        "Birthday": f.get("birth_date", ""),
        "Sex": f.get("sex", ""),
        "DateOfExpiration": f.get("expiry_date", ""),
        "IssuingCountry": f.get("issuing_state", ""),
        "NationalityCode": f.get("nationality", ""),
        "PassportCodeFirst": None,  # the MRZ lines are not stored with the result
        "PassportCodeSecond": None,
    }


def _mrz_card(f: dict[str, Any]) -> dict[str, Any]:
    """Tencent's ``GeneralCard`` for an MRZ document that is not a passport (TD1/TD2 cards, visas)."""
    return {
        "LicenseNumber": f.get("document_number", ""),
        "FullName": full_name(f),
        "FirstName": f.get("given_names", ""),
        "LastName": f.get("surname", ""),
        "Sex": f.get("sex", ""),
        "Birthday": f.get("birth_date", ""),
        "ExpirationDate": f.get("expiry_date", ""),
        "IssuedCountry": f.get("issuing_state", ""),
        "Nationality": f.get("nationality", ""),
    }


def _singapore(f: dict[str, Any]) -> dict[str, Any]:
    name = f.get("name", "")
    return {
        "ID": f.get("document_number", ""),
        "EnName": name,
        "FullName": name,
        "Birthday": f.get("birth_date_iso") or f.get("birth_date", ""),
    }


def _hkid(f: dict[str, Any]) -> dict[str, Any]:
    """faceid's ``HKIDCard``: as the OCR action's, but ``Permanent`` is a string there ("-1": unknown)."""
    return {**hkid_card(f), "Permanent": "-1"}


def _indonesia(f: dict[str, Any]) -> dict[str, Any]:
    return {"NIK": f.get("document_number", ""), "Nama": f.get("name", "")}


_CARDS = {
    "TD3": ("InternationalIDPassport", _passport),
    "TD1": ("GeneralCard", _mrz_card),
    "TD2": ("GeneralCard", _mrz_card),
    "MRVA": ("GeneralCard", _mrz_card),
    "MRVB": ("GeneralCard", _mrz_card),
    "HK_ID": ("HKIDCard", _hkid),
    "MY_MYKAD": ("MLIDCard", mykad_card),
    "SG_NRIC": ("SingaporeIDCard", _singapore),
    "ID_NIK": ("IndonesiaIDCard", _indonesia),
}


def card_info(result: dict[str, Any]) -> dict[str, Any] | None:
    """Tencent's ``CardInfo`` of a stored result: the read card under its kind's key; None when
    nothing was read, the kind has no Tencent shape (a generic ID) or the fields have expired."""
    step = _document(result)
    fields = result.get("identification")
    card = _CARDS.get(str(step.get("rule_type"))) if step else None
    if card is None or not isinstance(fields, dict):
        return None
    key, shape = card
    return {key: shape(fields)}


def _document(result: dict[str, Any]) -> dict[str, Any] | None:
    step = (result.get("details") or {}).get("document")
    return step if isinstance(step, dict) else None


def warn_codes(warnings: list[str]) -> list[int]:
    """OpenKYC document warnings as Tencent's ``WarnCardInfos`` (WarnTooDark has no Tencent code)."""
    return [WARN_CODES[w] for w in warnings if w in WARN_CODES]


WARN_CODES = {
    "WarnIncomplete": -9101,
    "WarnBlackWhiteCopy": -9102,
    "WarnScreenCapture": -9103,
    "WarnTamperingHint": -9104,
    "WarnGlare": -9107,
    "WarnBlurred": -9108,
}


def ocr_results(result: dict[str, Any] | None, document_only: bool) -> list[dict[str, Any]] | None:
    """``GetWebVerificationResultIntl``'s ``OCRResult`` of the session's last attempt; None when it
    has no document step. CheckMode 4 (document only) also answers ``OriginalCardInfo`` (the card
    as JSON), as Tencent does."""
    step = _document(result) if result else None
    if result is None or step is None:
        return None
    card = card_info(result)
    original = json.dumps(next(iter(card.values())), ensure_ascii=False) if card and document_only else None
    return [
        {
            "IsPass": step.get("code") == "Success",
            "CardImageBase64": None,  # the page's document photo is not kept for the customer
            "CardInfo": card,
            "NormalCardInfo": None,
            "RequestId": result["verification_id"],
            "CardCutImageBase64": None,
            "CardBackCutImageBase64": None,
            "WarnCardInfos": warn_codes(list(step.get("warnings") or [])),
            "OriginalCardInfo": original,
            "HeadImageBase64": None,
            "CardBackImageBase64": None,
        }
    ]


def card_verify_results(result: dict[str, Any]) -> list[dict[str, Any]]:
    """``GetSdkVerificationResult``'s ``CardVerifyResults`` of the last attempt (empty: no document step)."""
    step = _document(result)
    if step is None:
        return []
    return [
        {
            "IsPass": step.get("code") == "Success",
            "IsEdit": False,
            "WarnCardInfos": warn_codes(list(step.get("warnings") or [])),
            "CardVideo": None,
            "CardImage": None,
            "CardInfoOcrJson": None,
            "CardInfo": card_info(result),
            "NormalCardInfo": None,
            "EditDetails": None,
            "RequestId": result["verification_id"],
        }
    ]
