from __future__ import annotations

import pytest

from openkyc.documents.templates import CardTemplate, FieldRule, match_templates
from openkyc.documents.validators import VALIDATORS, hkid_check_digit, mykad, nik, nric_check_letter


@pytest.mark.parametrize(
    ("value", "ok"), [("A123456(3)", True), ("C668668(9)", True), ("A123456(4)", False), ("AB987654(3)", True)]
)
def test_hkid(value: str, ok: bool) -> None:
    assert hkid_check_digit(value).ok is ok


@pytest.mark.parametrize(
    ("value", "ok"), [("S1234567D", True), ("T1234567J", True), ("S1234567A", False), ("X1234567D", False)]
)
def test_nric(value: str, ok: bool) -> None:
    assert nric_check_letter(value).ok is ok


def test_mykad_and_nik_derive_birth_dates() -> None:
    assert mykad("900101-14-5677").derived == {"birth_date": "1990-01-01", "place_of_birth_code": "14", "sex": "M"}
    assert not mykad("901301-14-5677").ok and not mykad("900101-17-5677").ok
    assert nik("3174054107900001").derived["birth_date"] == "1990-07-01"
    assert nik("3174054107900001").derived["sex"] == "F"
    assert not nik("9974054107900001").ok and not nik("3174053213900001").ok


@pytest.mark.parametrize(
    ("text", "document_type"),
    [
        ("HONG KONG PERMANENT IDENTITY CARD\nName: CHAN TAI MAN\nA123456(3)", "HK_ID"),
        ("MALAYSIA MyKad\n900101-14-5677\nName: AHMAD BIN ALI", "MY_MYKAD"),
        ("REPUBLIC OF SINGAPORE\nIDENTITY CARD NO. S1234567D", "SG_NRIC"),
        ("PROVINSI DKI JAKARTA\nNIK : 3174054107900001", "ID_NIK"),
        ("REPUBLIC OF UTOPIA\nID No: X1234567\nSurname: DOE\nDate of birth: 01.02.1990", "GENERIC_ID"),
    ],
)
def test_templates_match(text: str, document_type: str) -> None:
    match = match_templates(text)
    assert match is not None and match.document_type == document_type
    assert "document_number" in match.fields
    assert "1234" not in repr(match)


def test_failing_validator_rejects_the_template() -> None:
    assert match_templates("HONG KONG IDENTITY CARD A123456(4)") is None
    assert match_templates("a payment card 4111 1111 1111 1111") is None


def test_new_country_is_a_new_template() -> None:
    template = CardTemplate(
        "UT_ID", (FieldRule("document_number", r"\b(UT\d{6})\b", ("nonempty",), True),), ("UTOPIA",)
    )
    match = match_templates("UTOPIA NATIONAL CARD UT123456", [template])
    assert match is not None and match.fields == {"document_number": "UT123456"}
    assert "nonempty" in VALIDATORS
