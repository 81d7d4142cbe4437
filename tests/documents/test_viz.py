"""The visual zone cross-check: agreement, disagreement, silence."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from openkyc.documents.mrz import parse_mrz
from openkyc.documents.ocr import Quad, TextLine
from openkyc.documents.quality import WARN_TAMPERING
from openkyc.documents.reader import VIZ_CHUNK, DocumentReader
from openkyc.documents.viz import TAMPERING_FIELDS, cross_check, printed_dates, settled, tampering_hint, transliterate

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


def test_settled_when_every_field_is_printed_as_in_the_mrz() -> None:
    mrz = parse_mrz(TD3, today=TODAY)
    assert settled(mrz, cross_check(mrz, SPECIMEN_VIZ), SPECIMEN_VIZ)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("F", ""), "the sex is not found yet"),
        (("ERIKSSON,ANNA MARIA", "ERIKSSON"), "given names not found yet: a close misreading may follow"),
        (("12 AUG/AOUT 74", ""), "the birth date is not found yet"),
        (("L898902C3", "L8989O2C3"), "the number agrees only up to look-alikes: a closer window may follow"),
        (("15 APR/AVR 12", "15 APR/AVR 13"), "a disagreement"),
    ],
)
def test_not_settled_while_a_line_not_read_could_still_change_the_verdict(change: tuple[str, str], why: str) -> None:
    old, new = change
    texts = [new if t == old else t for t in SPECIMEN_VIZ]
    mrz = parse_mrz(TD3, today=TODAY)
    assert not settled(mrz, cross_check(mrz, texts), texts), why


def _lines_image(texts: list[str], heights: list[int]) -> tuple[np.ndarray, list[Quad]]:
    """A page whose k-th line box is painted grey level k + 1 (what :class:`PaintedLines` reads back).

    Lines of 44 characters (the MRZ) span the page; the others go two to a row above them.
    """
    image = np.full((900, 1200, 3), 255, np.uint8)
    quads: list[Quad] = []
    y, column, row = 40, 0, 0
    for k, (text, h) in enumerate(zip(texts, heights, strict=True)):
        if len(text) == 44:
            y, column = y + row + 10, 0
            x0, w, row = 50, 1100, h
        else:
            x0, w = 60 + 560 * column, 14 * len(text) + 20
            row = max(row, h) if column else h
        image[y : y + h, x0 : x0 + w] = k + 1
        quads.append(((x0, y), (x0 + w, y), (x0 + w, y + h), (x0, y + h)))
        if len(text) == 44 or column:
            y, column, row = y + row + 6, 0, 0
        else:
            column = 1
    return image, quads


class PaintedLines:
    """A ``LineReader`` over :func:`_lines_image`: each crop read as the text of its grey level."""

    def __init__(self, texts: list[str], quads: list[Quad]) -> None:
        self.texts, self.quads, self.read = texts, quads, 0

    def detect_lines(self, image: np.ndarray) -> list[Quad]:
        return list(self.quads)

    def read_crops(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        self.read += len(crops)
        return [(self.texts[int(np.median(c[..., 0])) - 1], 0.99) for c in crops]

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        return []


def test_the_reader_stops_reading_the_visual_zone_once_settled() -> None:
    labels = [f"Label number {k}" for k in range(20)]  # shorter lines, read after the fields (tallest first)
    texts = [*SPECIMEN_VIZ, *labels, *TD3]
    heights = [22] * len(SPECIMEN_VIZ) + [12] * len(labels) + [30, 30]
    image, quads = _lines_image(texts, heights)
    lines = PaintedLines(texts, quads)
    result = DocumentReader(lines).read(image, today=TODAY)
    assert result.code == "Success" and result.mrz is not None and result.mrz.valid
    assert set(result.mrz.viz_checked) >= {"document_number", "surname", "birth_date", "expiry_date", "sex"}
    assert lines.read <= len(TD3) + len(SPECIMEN_VIZ) + VIZ_CHUNK  # the 20 labels were not all read
    # A disagreement among the lines read later is still found when the fields before do not settle.
    late = [*[t for t in SPECIMEN_VIZ if t != "F"], *labels[:-1], "M", *TD3]
    image, quads = _lines_image(late, [22] * (len(SPECIMEN_VIZ) - 1) + [12] * len(labels) + [30, 30])
    result = DocumentReader(PaintedLines(late, quads)).read(image, today=TODAY)
    assert result.mrz is not None and result.mrz.viz_mismatches == ("sex",) and not result.mrz.valid
