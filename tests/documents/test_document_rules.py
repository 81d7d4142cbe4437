"""Rules for documents: expiry, minimum age, accepted issuing states; verdict and flags stored and exported."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from openkyc.config.rules import RuleConfig
from openkyc.documents.mrz import parse_mrz
from openkyc.documents.reader import DocumentResult
from openkyc.documents.service import holder_age, judge

TODAY = date(2026, 6, 1)
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]


def _td3(expiry: str = "120415", birth: str = "740812", state: str = "UTO") -> DocumentResult:
    from openkyc.documents.checkdigits import check_digit

    body = f"L898902C36{state}{birth}{check_digit(birth)}F{expiry}{check_digit(expiry)}ZE184226B<<<<<1"
    body += check_digit(body[0:10] + body[13:20] + body[21:43])
    mrz = parse_mrz([f"P<{state}ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", body], today=TODAY)
    assert mrz.valid
    return DocumentResult("Success", "PASSPORT", dict(mrz.fields), mrz)


def test_expired_document_fails_unless_the_rule_allows_it() -> None:
    expired = _td3("120415")
    code, details = judge(expired, RuleConfig(), TODAY)
    assert code == "FailedOperation.DocumentExpired" and details["expired"] is True
    assert judge(expired, RuleConfig(allow_expired_document=True), TODAY)[0] == "Success"
    current = _td3("300101")
    code, details = judge(current, RuleConfig(), TODAY)
    assert code == "Success" and details["expired"] is False
    assert details["mrz_valid"] is True and details["corrections"] == [] and details["mrz_invalid"] == []


@pytest.mark.parametrize(
    ("birth", "min_age", "code"),
    [
        ("080601", 18, "Success"),  # 18 today
        ("080602", 18, "FailedOperation.DocumentHolderUnderage"),  # 18 tomorrow
        ("740812", 21, "Success"),
        ("100101", None, "Success"),
    ],
)
def test_minimum_age(birth: str, min_age: int | None, code: str) -> None:
    result = _td3("300101", birth)
    assert judge(result, RuleConfig(min_age=min_age), TODAY)[0] == code


def test_minimum_age_without_a_birth_date_fails() -> None:
    card = DocumentResult("Success", "SG_NRIC", {"document_number": "S1234567D"})
    assert holder_age(card, TODAY) is None
    assert judge(card, RuleConfig(min_age=18), TODAY)[0] == "FailedOperation.DocumentHolderUnderage"
    mykad = DocumentResult("Success", "MY_MYKAD", {"birth_date": "1990-01-31"})
    assert holder_age(mykad, TODAY) == 36


def test_accepted_issuing_states() -> None:
    passport = _td3("300101")
    assert judge(passport, RuleConfig(accepted_issuing_states=["UTO", "GBR"]), TODAY)[0] == "Success"
    code, _ = judge(passport, RuleConfig(accepted_issuing_states=["GBR"]), TODAY)
    assert code == "FailedOperation.DocumentStateNotAllowed"
    card = DocumentResult("Success", "HK_ID", {"document_number": "A123456(3)"})
    assert judge(card, RuleConfig(accepted_issuing_states=["HKG"]), TODAY)[0] == "Success"
    assert (
        judge(card, RuleConfig(accepted_issuing_states=["SGP"]), TODAY)[0] == "FailedOperation.DocumentStateNotAllowed"
    )
    generic = DocumentResult("Success", "GENERIC_ID", {"document_number": "X12345"})
    code, _ = judge(generic, RuleConfig(document_types=["GENERIC_ID"], accepted_issuing_states=["GBR"]), TODAY)
    assert code == "FailedOperation.DocumentStateNotAllowed"


@pytest.mark.parametrize("bad", ["gbr", "GBRX", "G1R", ""])
def test_accepted_issuing_states_are_codes(bad: str) -> None:
    with pytest.raises(ValidationError):
        RuleConfig(accepted_issuing_states=[bad])


def test_unknown_state_code_is_not_valid_and_named() -> None:
    lines = [TD3[0].replace("P<UTO", "P<OTO"), TD3[1]]
    mrz = parse_mrz(lines, today=TODAY)
    assert mrz.checks_pass and not mrz.valid
    assert ("issuing_state", "unknown_state_code") in mrz.invalid
    assert mrz.as_dict()["invalid"] == [{"field": "issuing_state", "reason": "unknown_state_code"}]


@pytest.mark.slow
def test_identity_verification_stores_and_exports_the_document_verdict(tenant: Any, shared_data: Path) -> None:
    """The expired ICAO specimen: the stored result and the subject export carry the verdict and its flags."""
    document = (shared_data / "mrz-specimens" / "td3.jpg").read_bytes()
    clip = (shared_data / "grid-talking-face-videos" / "lrwp9a.mpg").read_bytes()
    body = {
        "document_image": base64.b64encode(document).decode(),
        "video": base64.b64encode(clip).decode(),
        "subject_id": "doc-holder-3",
    }
    out = tenant.post("/v1/verifications/identity", body)
    assert out.status_code == 200, out.text
    answer = out.json()
    assert answer["Result"] == "FailedOperation.DocumentExpired"
    step = answer["steps"]["document"]
    assert step["code"] == "FailedOperation.DocumentExpired" and step["expired"] is True
    assert step["mrz_valid"] is True and step["corrections"] == [] and "warnings" in step
    stored = tenant.get(f"/v1/verifications/{answer['verification_id']}").json()
    assert stored["details"]["document"] == step
    export = tenant.get("/v1/privacy/subjects/doc-holder-3").json()
    exported = [
        item["value"]
        for item in export["items"]
        if item["table"] == "verification_results" and item["column"] == "details"
    ]
    assert exported, [item["column"] for item in export["items"]]
    assert any(value.get("details", value).get("document", {}).get("expired") is True for value in exported), exported

    allowed = tenant.post("/v1/rules", {"name": "expired-ok", "config": {"allow_expired_document": True}})
    body["rule_id"] = allowed.json()["rule_id"]
    again = tenant.post("/v1/verifications/identity", body).json()
    assert again["steps"]["document"]["code"] == "Success" and again["steps"]["document"]["expired"] is True
