"""What the reader reads and in what order (the costs of :mod:`openkyc.documents.reader`), and the held-out generators' documents.

No model runs here: line boxes are made by hand, and the held-out generators' truth is checked with
the project's own parsers and validators.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openkyc.documents.mrz import parse_mrz
from openkyc.documents.ocr import Quad, _batches
from openkyc.documents.reader import MAX_MRZ_ASPECT, _is_wide, mrz_groups, viz_order
from openkyc.documents.validators import VALIDATORS

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
TODAY = date(2026, 6, 1)


def _box(x: float, y: float, w: float, h: float) -> Quad:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def test_mrz_stack_is_its_own_group_apart_from_a_page_of_text() -> None:
    mrz = [_box(100, 800, 900, 30), _box(102, 840, 898, 30)]
    page = [_box(20, 40 * k, 700, 22) for k in range(1, 7)]  # six aligned lines of a page behind
    lone = [_box(400, 500, 300, 25)]
    groups = mrz_groups(mrz + page + lone)
    assert sorted(len(g) for g in groups) == [2, 6]
    assert [g for g in groups if len(g) == 2] == [mrz]


def test_lines_wider_than_an_mrz_are_not_mrz_candidates() -> None:
    assert _is_wide(_box(0, 0, 30 * 30, 30))  # a 44-character MRZ line is about 30 heights wide
    assert not _is_wide(_box(0, 0, (MAX_MRZ_ASPECT + 5) * 20, 20))  # a line of a page: longer than 44 characters
    assert not _is_wide(_box(0, 0, 100, 30))


def test_batches_never_pad_a_narrow_crop_to_a_wide_one() -> None:
    ratios = [5.0, 30.0, 6.0, 31.0, 29.0, 60.0, 5.5]
    batches = _batches(ratios, 320 / 48, 6)
    assert sorted(k for b in batches for k in b) == list(range(len(ratios)))
    for batch in batches:
        widths = [max(ratios[k], 320 / 48) for k in batch]
        assert max(widths) <= 1.15 * min(widths)
    assert len(_batches([10.0] * 13, 320 / 48, 6)) == 3


def test_visual_zone_reads_the_sex_letter_then_the_documents_own_lines_first() -> None:
    band = (100.0, 800.0, 900.0, 70.0)  # the MRZ: x, y, w, h
    value = _box(300, 500, 200, 31)  # a printed value, across the MRZ's width above it
    label = _box(300, 470, 200, 23)  # its label: lower
    letter = _box(600, 560, 30, 30)  # the sex letter: one character
    behind = _box(0, 300, 70, 34)  # a taller fragment of a page behind, reaching past the document's edge
    below = _box(300, 880, 200, 33)  # below the MRZ
    assert viz_order([behind, label, below, value, letter], band) == [letter, value, label, behind, below]
    # A one-character box outside the document is not taken for the sex letter.
    stray = _box(0, 500, 30, 30)
    assert viz_order([stray, label], band) == [label, stray]


@pytest.fixture(scope="module")
def heldout() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    import heldout_documents

    return heldout_documents


@pytest.mark.parametrize("kind", ["MRVA", "MRVB"])
def test_heldout_visa_lines_parse_as_visas_with_their_checks(heldout: Any, kind: str) -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        person = heldout.identity(rng, TODAY)
        lines = heldout.mrz_lines(kind, person)
        result = parse_mrz(lines, today=TODAY)
        assert result.format == kind
        assert result.checks_pass, result.checks
        assert result.fields["document_code"].startswith("V")


def test_heldout_card_numbers_pass_the_cards_rules(heldout: Any) -> None:
    import heldout_cards

    rng = np.random.default_rng(5)
    born = date(1984, 3, 9)
    for _ in range(50):
        assert VALIDATORS["hkid_check_digit"](heldout_cards.hk_number(rng)).ok
        assert VALIDATORS["nric_check_letter"](heldout_cards.sg_number(rng)).ok
        for sex in ("M", "F"):
            mykad = VALIDATORS["mykad"](heldout_cards.my_number(rng, born, sex))
            assert mykad.ok and mykad.derived["birth_date"] == born.isoformat() and mykad.derived["sex"] == sex
            nik = VALIDATORS["nik"](heldout_cards.id_number(rng, born, sex))
            assert nik.ok and nik.derived["birth_date"] == born.isoformat() and nik.derived["sex"] == sex


class CountingLines:
    """A ``LineReader`` that finds the same short lines in any image and reads them as plain words."""

    def __init__(self, quads: list[Quad]) -> None:
        self.quads, self.detected, self.read = quads, 0, 0

    def detect_lines(self, image: np.ndarray) -> list[Quad]:
        self.detected += 1
        return list(self.quads)

    def read_crops(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        self.read += len(crops)
        return [("Some printed words", 0.9)] * len(crops)

    def recognize(self, image: np.ndarray) -> list[Any]:
        return []


def test_a_second_look_without_an_mrz_reads_no_lines_for_the_card_templates() -> None:
    from openkyc.documents.reader import DocumentReader

    quads = [_box(100, 60 + 40 * k, 150, 24) for k in range(6)]  # not wide enough for an MRZ line
    lines = CountingLines(quads)
    result = DocumentReader(lines).read(np.full((600, 800, 3), 200, np.uint8), today=TODAY)
    assert result.code == "FailedOperation.DocumentUnrecognized"
    assert lines.detected == 2  # the photo, then the photo enlarged (a second look)
    assert lines.read == len(quads)  # read once, for the card templates, on the first look only


TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]


class MisreadOnce:
    """A ``LineReader``: an MRZ whose first reading fails a check digit (right when read again), and other wide lines."""

    def __init__(self, quads: list[Quad]) -> None:
        self.quads, self.mrz_reads, self.others_read = quads, 0, 0

    def detect_lines(self, image: np.ndarray) -> list[Quad]:
        return list(self.quads)

    def read_crops(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        mrz = [c for c in crops if c.shape[1] / c.shape[0] > 21]  # the MRZ lines, padded or not (others: 20)
        self.others_read += len(crops) - len(mrz)
        if mrz:
            self.mrz_reads += 1
        second = TD3[1] if self.mrz_reads > 1 else TD3[1].replace("7408122", "7408123")
        texts = iter([TD3[0], second])
        return [(next(texts) if c.shape[1] / c.shape[0] > 21 else "SOME WORDS", 0.99) for c in crops]

    def recognize(self, image: np.ndarray) -> list[Any]:
        return []


def test_a_failing_mrz_is_read_again_before_the_other_wide_lines() -> None:
    from openkyc.documents.reader import DocumentReader

    others = [_box(100, 100 + 40 * k, 400, 20) for k in range(10)]  # far above the document: no visual zone
    mrz = [_box(100, 1800, 1000, 30), _box(100, 1840, 1000, 30)]
    lines = MisreadOnce(mrz + others)
    result = DocumentReader(lines).read(np.full((2000, 1300, 3), 220, np.uint8), today=TODAY)
    assert result.mrz is not None and result.mrz.checks_pass and result.code == "Success"
    assert lines.mrz_reads == 2 and lines.others_read == 0
