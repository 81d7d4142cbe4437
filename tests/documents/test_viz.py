"""The visual zone cross-check: agreement, disagreement, silence."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from openkyc.documents.mrz import parse_mrz
from openkyc.documents.ocr import TextLine
from openkyc.documents.quality import WARN_TAMPERING
from openkyc.documents.reader import DocumentReader
from openkyc.documents.viz import TAMPERING_FIELDS, cross_check, printed_dates, tampering_hint, transliterate

TODAY = date(2026, 6, 1)
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
# What the recogniser reads on the ICAO TD3 specimen's visual zone.
SPECIMEN_VIZ = [
    "UTOPIA", "Passport/", "P", "UTO", "L898902C3", "Name/ Nom", "ERIKSSON,ANNA MARIA", "UTOPIAN",
    "12 AUG/AOUT 74", "ZE 184226 B", "Sex/ Sexe", "F", "ZENITH", "16 APR/AVR 07", "15 APR/AVR 12",
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("12 AUG/AOUT 74", {"740812"}),
        ("Date of birth 12.08.1974", {"740812"}),
        ("01/07/2029", {"290701"}),
        ("1974-08-12", {"740812"}),
        ("740812", {"740812"}),
        ("21 AUG 2031", {"310821"}),
        ("no date here 12", set()),
    ],
)
def test_printed_dates(text: str, dates: set[str]) -> None:
    assert printed_dates([text]) == dates


def test_transliteration() -> None:
    assert transliterate("Müller Ærø Café") == "MUELLER AEROE CAFE"


def test_the_specimen_agrees_everywhere() -> None:
    check = cross_check(parse_mrz(TD3, today=TODAY), SPECIMEN_VIZ)
    assert check.mismatches == ()
    assert set(check.found) >= {"document_number", "surname", "given_names", "birth_date", "expiry_date", "sex"}
    assert ("document_number", 1) in check.confirmed and ("optional_data", 0) in check.confirmed


@pytest.mark.parametrize(
    ("viz_change", "field"),
    [
        (("L898902C3", "L89G902C3"), "document_number"),
        (("ERIKSSON,ANNA MARIA", "ERIKSEN,ANNA MARIA"), "surname"),
        (("12 AUG/AOUT 74", "12 AUG/AOUT 75"), "birth_date"),
        (("15 APR/AVR 12", "15 APR/AVR 13"), "expiry_date"),
        (("F", "M"), "sex"),
    ],
)
def test_a_disagreement_names_the_field(viz_change: tuple[str, str], field: str) -> None:
    old, new = viz_change
    texts = [new if t == old else t for t in SPECIMEN_VIZ]
    check = cross_check(parse_mrz(TD3, today=TODAY), texts)
    assert check.mismatches == (field,)


def test_a_viz_misreading_the_check_digit_rules_out_is_no_disagreement() -> None:
    texts = ["L8989O2C3" if t == "L898902C3" else t for t in SPECIMEN_VIZ]  # 0 read as O in the VIZ
    assert cross_check(parse_mrz(TD3, today=TODAY), texts).mismatches == ()


def test_nothing_printed_means_no_verdict() -> None:
    check = cross_check(parse_mrz(TD3, today=TODAY), ["PASSPORT", "UTOPIA"])
    assert check.mismatches == () and check.found == () and not check.confirmed


class Fake:
    """A recogniser that "reads" the given texts, one line under the other."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        return [
            TextLine(
                t,
                ((10.0, 20.0 + 30 * i), (600.0, 20.0 + 30 * i), (600.0, 40.0 + 30 * i), (10.0, 40.0 + 30 * i)),
                0.99,
            )
            for i, t in enumerate(self.texts)
        ]


def test_reader_marks_a_viz_mismatch_invalid() -> None:
    image = np.full((700, 700, 3), 180, np.uint8)
    good = DocumentReader(Fake([*SPECIMEN_VIZ, *TD3])).read(image, today=TODAY)
    assert good.code == "Success" and good.mrz is not None and good.mrz.valid
    viz = [("12 AUG/AOUT 75" if t == "12 AUG/AOUT 74" else t) for t in SPECIMEN_VIZ]
    bad = DocumentReader(Fake([*viz, *TD3])).read(image, today=TODAY)
    assert bad.code == "FailedOperation.MrzNotVerified" and bad.mrz is not None
    assert bad.mrz.as_dict()["invalid"] == [{"field": "birth_date", "reason": "visual_zone_mismatch"}]
    assert bad.mrz.as_dict()["visual_zone"]["mismatches"] == ["birth_date"]


@pytest.mark.parametrize(
    ("viz_change", "hint"),
    [
        (("L898902C3", "L898962C3"), True),  # the number edited in one zone
        (("ERIKSSON,ANNA MARIA", "ERIKSEN,ANNA MARIA"), True),
        (("F", "M"), True),
        (("12 AUG/AOUT 74", "12 AUG/AOUT 75"), False),  # dates: as the ICAO visa specimens print them
        (("L898902C3", "L8989O2C3"), False),  # a VIZ misreading the check digit rules out
        (("UTOPIA", "UTOPIA"), False),  # nothing changed
    ],
)
def test_tampering_hint(viz_change: tuple[str, str], hint: bool) -> None:
    old, new = viz_change
    viz = [new if t == old else t for t in SPECIMEN_VIZ]
    result = DocumentReader(Fake([*viz, *TD3])).read(np.full((700, 700, 3), 180, np.uint8), today=TODAY)
    assert result.mrz is not None and tampering_hint(result.mrz) is hint
    assert (WARN_TAMPERING in result.warnings) is hint
    if hint:
        assert result.code == "FailedOperation.MrzNotVerified"
        assert set(result.mrz.viz_mismatches) <= set(TAMPERING_FIELDS)


def test_no_tampering_hint_when_the_mrz_fails_its_checks() -> None:
    mrz = [TD3[0], TD3[1].replace("7408122", "7408123")]
    viz = ["L898962C3" if t == "L898902C3" else t for t in SPECIMEN_VIZ]
    result = DocumentReader(Fake([*viz, *mrz])).read(np.full((700, 700, 3), 180, np.uint8), today=TODAY)
    assert result.code == "FailedOperation.MrzCheckFailed" and WARN_TAMPERING not in result.warnings
