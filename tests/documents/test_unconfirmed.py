"""Fields nothing can vouch for: the MRV optional data (no check digit on a visa) and card numbers
without a check digit (MyKad, NIK). They are reported in ``unconfirmed_fields`` and left out of
``valid`` / ``Success``, instead of being judged character by character: a misreading there can be
confident (held-out visa 900004: ``O`` read as ``0`` at 0.9 and more, ``O`` given under 2 %)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from openkyc.config.rules import RuleConfig
from openkyc.documents.mrz import parse_mrz, unchecked_fields
from openkyc.documents.mrzlayout import FORMATS
from openkyc.documents.ocr import TextLine
from openkyc.documents.reader import DocumentReader, DocumentResult
from openkyc.documents.service import judge
from openkyc.documents.templates import match_templates
from openkyc.documents.viz import cross_check

TODAY = date(2026, 6, 1)
MRVB = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F96121092OB5<<<<"]
MRVA = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"]
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159AB12<<<4"]
TD1 = ["I<UTOD231458907AB12<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<0", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]


def _misread(lines: list[str], line: int, index: int, char: str) -> list[str]:
    out = list(lines)
    out[line] = out[line][:index] + char + out[line][index + 1 :]
    return out


def _sure(lines: list[str]) -> tuple[list[list[float]], list[list[tuple[tuple[str, float], ...]]]]:
    """Every character read at confidence 1.0 with no alternative: the recogniser had no doubt."""
    return [[1.0] * len(line) for line in lines], [[() for _ in line] for line in lines]


def test_only_the_visa_optional_data_is_under_no_check_digit() -> None:
    assert unchecked_fields(MRVB, FORMATS["MRVB"]) == ("optional_data",)
    assert unchecked_fields(MRVA, FORMATS["MRVA"]) == ("optional_data",)
    empty = MRVB[1][:28] + "<" * 8
    assert unchecked_fields([MRVB[0], empty], FORMATS["MRVB"]) == ()
    for lines in (TD3, TD2, TD1):  # every alphanumeric character of a TD1-3 is under the composite
        result = parse_mrz(lines, today=TODAY)
        assert result.checks_pass and result.unconfirmed_fields == (), lines


def test_a_confident_misreading_of_visa_optional_data_is_reported_unconfirmed_not_vouched_for() -> None:
    wrong = _misread(MRVB, 1, 29, "0")  # optional data 2OB5 read as 20B5, with no doubt at all
    confidences, alternatives = _sure(wrong)
    result = parse_mrz(wrong, today=TODAY, confidences=confidences, alternatives=alternatives)
    assert result.checks_pass and result.fields["optional_data"] == "20B5"
    assert result.unconfirmed_fields == ("optional_data",)
    assert result.valid and result.invalid == ()  # valid speaks for the other fields only
    assert result.as_dict()["unconfirmed_fields"] == ["optional_data"]
    right = parse_mrz(MRVB, today=TODAY, confidences=confidences, alternatives=alternatives)
    assert right.valid and right.unconfirmed_fields == ("optional_data",)  # read right, still not vouched for


def test_doubt_in_visa_optional_data_no_longer_fails_the_document() -> None:
    """Before, a doubtful character there made the MRZ not valid, a confident misreading did not;
    now neither decides ``valid`` and both are reported the same way."""
    confidences, alternatives = _sure(MRVB)
    confidences[1][30] = 0.4
    alternatives[1][29] = (("0", 0.3),)
    result = parse_mrz(MRVB, today=TODAY, confidences=confidences, alternatives=alternatives)
    assert result.valid and result.unconfirmed_fields == ("optional_data",)
    assert ("optional_data", "low_confidence") not in result.invalid


def test_check_blind_lookalikes_under_a_check_digit_still_need_confidence() -> None:
    confidences, alternatives = _sure(MRVB)
    alternatives[1][1] = (("S", 0.05),)  # document number 8 or S: its check digit cannot tell
    result = parse_mrz(MRVB, today=TODAY, confidences=confidences, alternatives=alternatives)
    assert not result.valid and ("document_number", "low_confidence") in result.invalid


def test_the_visual_zone_confirms_unchecked_data_only_character_for_character() -> None:
    result = parse_mrz(MRVB, today=TODAY)
    check = cross_check(result, ["VISA", "L8988901C", "Remarks 2OB5"])
    assert check.prints(result, "optional_data")
    # O printed where the MRZ has 0: no check digit rules that pair out here, so nothing is confirmed
    wrong = parse_mrz(_misread(MRVB, 1, 29, "0"), today=TODAY)
    assert not cross_check(wrong, ["VISA", "Remarks 2OB5"]).prints(wrong, "optional_data")
    assert not cross_check(result, ["VISA"]).prints(result, "optional_data")
    # under a check digit the 0/O pair stays the visual zone's misreading (document number)
    assert cross_check(result, ["No. L8988901C"]).prints(result, "document_number")
    assert cross_check(result, ["No. L898890IC"]).prints(result, "document_number")


class _Lines:
    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        return [
            TextLine(t, ((10.0, 30.0 * i), (600.0, 30.0 * i), (600.0, 30.0 * i + 20), (10.0, 30.0 * i + 20)), 0.99)
            for i, t in enumerate(self.texts)
        ]


def _read(texts: list[str]) -> DocumentResult:
    return DocumentReader(_Lines(texts)).read(np.full((400, 700, 3), 180, np.uint8), today=TODAY)


def test_reader_reports_unconfirmed_fields_unless_the_visual_zone_prints_them() -> None:
    result = _read(["VISA", "ERIKSSON", "ANNA MARIA", *MRVB])
    assert result.code == "Success" and result.unconfirmed_fields == ("optional_data",)
    assert result.to_dict()["unconfirmed_fields"] == ["optional_data"]
    printed = _read(["VISA", "ERIKSSON", "ANNA MARIA", "Remarks: 2OB5", *MRVB])
    assert printed.code == "Success" and printed.unconfirmed_fields == ()
    passport = _read(["PASSPORT", *TD3])
    assert passport.code == "Success" and passport.unconfirmed_fields == ()


@pytest.mark.parametrize(
    ("text", "document_type", "unconfirmed"),
    [
        ("MALAYSIA MYKAD\n850412-14-5673\nNAME: ALI BIN AHMAD", "MY_MYKAD", ("document_number",)),
        ("PROVINSI JAWA BARAT\nNIK: 3273014107850003\nNama: SITI", "ID_NIK", ("document_number",)),
        ("HONG KONG IDENTITY CARD\nA123456(3)", "HK_ID", ()),
        ("REPUBLIC OF SINGAPORE\nNRIC S1234567D", "SG_NRIC", ()),
        ("IDENTITY CARD\nID No: XK-20931\nName: ANNA", "GENERIC_ID", ("document_number",)),
    ],
)
def test_card_numbers_without_a_check_digit_are_unconfirmed(
    text: str, document_type: str, unconfirmed: tuple[str, ...]
) -> None:
    match = match_templates(text)
    assert match is not None and match.document_type == document_type
    assert match.unconfirmed_fields == unconfirmed
    result = _read(text.split("\n"))
    assert result.code == "Success" and result.unconfirmed_fields == unconfirmed


def test_the_rule_verdict_carries_the_unconfirmed_fields() -> None:
    result = _read(["MALAYSIA MYKAD", "850412-14-5673"])
    assert result.code == "Success"
    _, details = judge(result, RuleConfig(), TODAY)  # stored with the verification result and exported
    assert details["unconfirmed_fields"] == ["document_number"]
