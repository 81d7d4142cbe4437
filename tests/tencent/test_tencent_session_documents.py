"""A hosted session's own document options (Tencent's ``IDCardType`` / ``IdCardType`` and
``AllowExpiredDocument``), in-process: how they narrow or override the rule, that each session
keeps its own, that a rule without the card refuses the session; and the card shapes of the
result actions against the field types of Tencent's SDK models (``sdk_types``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sdk_types
from sqlalchemy import select
from test_tencent_protocol import call
from test_tencent_sdk_tokens import answer

from openkyc.api.tencent.cards import card_verify_results, ocr_results
from openkyc.api.tencent.faceid import verification_detail
from openkyc.api.tencent.sdk import compare_result
from openkyc.config.rules import RuleConfig, SessionDocumentOptions
from openkyc.documents.mrz import parse_mrz
from openkyc.documents.reader import DocumentResult
from openkyc.documents.service import TYPE_NOT_ALLOWED, judge
from openkyc.store.models.verification import VerificationSession

# the ICAO 9303 TD3 specimen's MRZ (expired 2012-04-15)
SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)


def specimen() -> DocumentResult:
    mrz = parse_mrz(list(SPECIMEN), today=date(2026, 11, 30))
    assert mrz is not None and mrz.expired
    return DocumentResult(code="Success", document_type="passport", mrz=mrz, fields=dict(mrz.fields))


def test_options_narrow_the_rule_types_and_override_its_expiry_choice() -> None:
    rule = RuleConfig()
    assert not rule.allow_expired_document and "HK_ID" in rule.document_types
    today = date(2026, 11, 30)
    assert judge(specimen(), rule, today)[0] == "FailedOperation.DocumentExpired"

    allowed = SessionDocumentOptions(document_types=["TD3"], allow_expired_document=True).apply(rule)
    assert allowed.document_types == ["TD3"] and allowed.allow_expired_document
    assert judge(specimen(), allowed, today)[0] == "Success"
    # another card type: the passport is not taken
    hkid = SessionDocumentOptions(document_types=["HK_ID"], allow_expired_document=True).apply(rule)
    assert judge(specimen(), hkid, today)[0] == TYPE_NOT_ALLOWED
    # False overrides a rule that takes expired documents
    lenient = RuleConfig(allow_expired_document=True)
    assert judge(specimen(), lenient, today)[0] == "Success"
    strict = SessionDocumentOptions(allow_expired_document=False).apply(lenient)
    assert judge(specimen(), strict, today)[0] == "FailedOperation.DocumentExpired"
    # only among the rule's types: a rule that no longer takes the card refuses it
    passports_only = RuleConfig(document_types=["TD3"])
    assert SessionDocumentOptions(document_types=["HK_ID"]).apply(passports_only).document_types == []
    assert SessionDocumentOptions().apply(rule) is rule


WEB = "ApplyWebVerificationBizTokenIntl"
SDK = "ApplySdkVerificationToken"


@pytest.mark.parametrize(
    ("action", "params", "options"),
    [
        (
            WEB,
            {"CheckMode": 4, "IDCardType": "HKIDCard", "AllowExpiredDocument": False},
            {
                "document_types": ["HK_ID"],
                "allow_expired_document": False,
            },
        ),
        (WEB, {"CheckMode": 1, "IDCardType": "InternationalIDPassport"}, {"document_types": ["TD3"]}),
        (WEB, {"CheckMode": 4, "AllowExpiredDocument": True}, {"allow_expired_document": True}),
        (WEB, {"CheckMode": 4}, None),
        (WEB, {"CheckMode": 3, "IDCardType": "HKIDCard", "AllowExpiredDocument": True}, None),  # no document step
        (
            SDK,
            {"IdCardType": "ML", "AllowExpiredDocument": True},
            {
                "document_types": ["MY_MYKAD"],
                "allow_expired_document": True,
            },
        ),
        (SDK, {"CheckMode": 1, "IdCardType": "SingaporeIDCard"}, {"document_types": ["SG_NRIC"]}),
        (SDK, {"CheckMode": 3, "IdCardType": "HK", "AllowExpiredDocument": True}, None),
    ],
)
def test_each_session_keeps_its_card_type_and_expiry_choice(
    tenant: Any, action: str, params: dict[str, Any], options: dict[str, Any] | None
) -> None:
    body = {"RedirectURL": "https://shop.example/done", "Config": params} if action == WEB else params
    applied = answer(call(tenant.client, tenant, action, body))
    assert applied.get("BizToken") or applied.get("SdkToken")
    runtime = tenant.client.app.state.runtime
    with runtime.transaction() as session:
        rows = session.scalars(select(VerificationSession).where(VerificationSession.app_id == tenant.app_id)).all()
        kept = [row.document_options for row in rows]
    assert kept == [options]


def test_a_rule_that_does_not_take_the_card_refuses_the_session(tenant: Any) -> None:
    rule = tenant.post("/v1/rules", {"name": "passports", "config": {"document_types": ["TD3"]}})
    assert rule.status_code == 200, rule.text
    rule_id = rule.json()["rule_id"]
    body = {"RedirectURL": "https://shop.example/done", "RuleId": rule_id, "Config": {"CheckMode": 4}}
    refused = answer(call(tenant.client, tenant, WEB, {**body, "Config": {"CheckMode": 4, "IDCardType": "HKIDCard"}}))
    assert refused["Error"]["Code"] == "InvalidParameterValue"
    assert "document type" in refused["Error"]["Message"]
    passport = {**body, "Config": {"CheckMode": 4, "IDCardType": "InternationalIDPassport"}}
    assert answer(call(tenant.client, tenant, WEB, passport))["BizToken"]


_FIELDS = {
    "document_number": "A1234563",
    "name": "CHAN TAI MAN",
    "surname": "CHAN",
    "given_names": "TAI MAN",
    "birth_date": "900102",
    "birth_date_iso": "1990-01-02",
    "expiry_date": "300101",
    "sex": "M",
    "issuing_state": "UTO",
    "nationality": "UTO",
}


@pytest.mark.parametrize("rule_type", ["TD3", "TD1", "TD2", "MRVA", "MRVB", "HK_ID", "MY_MYKAD", "SG_NRIC", "ID_NIK"])
def test_card_results_have_the_sdk_field_types(rule_type: str) -> None:
    """Every card shape as the result actions answer it, read by Tencent's SDK models."""
    pytest.importorskip("tencentcloud.faceid.v20180301.models")
    step = {"code": "Success", "rule_type": rule_type, "warnings": ["WarnGlare", "WarnTooDark"]}
    stored = {
        "Result": "Success",
        "verification_id": "v-1",
        "created_at": "2026-11-30T17:00:00+00:00",
        "sim": 88.5,
        "live": True,
        "kind": "identity",
        "details": {"document": step, "liveness": {"code": "Success"}},
        "identification": dict(_FIELDS),
    }
    web = {
        "ErrorCode": 0,
        "ErrorMsg": "Success",
        "VerificationDetailList": [verification_detail(stored)],
        "OCRResult": ocr_results(stored, document_only=True),
        "Extra": "x",
        "RequestId": "r",
    }
    assert web["OCRResult"][0]["CardInfo"] is not None
    assert sdk_types.problems("GetWebVerificationResultIntl", web) == []
    sdk = {
        "Result": "0",
        "CardVerifyResults": card_verify_results(stored),
        "CompareResults": [compare_result(stored)],
        "ChargeCount": 1,
        "RequestId": "r",
    }
    assert sdk_types.problems("GetSdkVerificationResult", sdk) == []


def test_the_type_check_names_what_the_sdk_types_otherwise() -> None:
    pytest.importorskip("tencentcloud.faceid.v20180301.models")
    wrong = {
        "ErrorCode": "0",  # the SDK: int
        "VerificationDetailList": [{"Similarity": "88", "ReqTimestamp": 1.5}],  # float, int
        "OCRResult": [{"IsPass": 1, "CardInfo": {"HKIDCard": {"Permanent": -1, "Nope": 1}}}],
        "RequestId": "r",
    }
    found = sdk_types.problems("GetWebVerificationResultIntl", wrong)
    for path in (
        "GetWebVerificationResultIntl.ErrorCode: str",
        ".VerificationDetailList[0].Similarity: str",
        ".VerificationDetailList[0].ReqTimestamp: float",
        ".OCRResult[0].IsPass: int",
        ".CardInfo.HKIDCard.Permanent: int",  # a string in faceid (an int in ocr)
        ".CardInfo.HKIDCard.Nope: not a field",
    ):
        assert any(path in problem for problem in found), (path, found)
    assert any("warns" in problem for problem in found)
    assert sdk_types.problems("ApplyLivenessToken", {"SdkToken": "t", "VerificationURL": "u", "RequestId": "r"}) == []
    assert sdk_types.problems("GetLivenessResult", {"VerificationURL": "u", "RequestId": "r"}) != []


@pytest.mark.parametrize(
    ("action", "document_type", "mrz"),
    [
        ("MLIDPassportOCR", None, {"format": "TD3", "lines": list(SPECIMEN), "valid": True}),
        ("HKIDCardOCR", "HK_ID", None),
        ("MLIDCardOCR", "MY_MYKAD", None),
        ("RecognizeIndonesiaIDCardOCR", "ID_NIK", None),
        ("RecognizeSingaporeIDCardOCR", "SG_NRIC", None),
    ],
)
def test_ocr_answers_have_the_sdk_field_types(action: str, document_type: str | None, mrz: Any) -> None:
    """Each OCR action's answer of a card read (the reader's output shape, as DocumentService.ocr
    gives it) has the field types of Tencent's ocr models; the live tests check real reads too."""
    from types import SimpleNamespace

    from openkyc.api.tencent.routes import ACTIONS

    pytest.importorskip("tencentcloud.ocr.v20181119.models")
    read = {"Result": "Success", "document_type": document_type, "mrz": mrz, "fields": dict(_FIELDS)}
    ctx = SimpleNamespace(documents=SimpleNamespace(ocr=lambda image, rule_id: {**read, "warnings": ["WarnGlare"]}))
    spec = ACTIONS[action]
    outcome = spec.handler(ctx, spec.params.model_validate({"ImageBase64": "AAAA"}))
    assert sdk_types.problems(action, {**outcome.fields, "RequestId": "r"}) == []
