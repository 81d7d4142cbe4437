"""Two-sided documents: which photo needs its other side, and one result from both sides (on built
results; the real reader on a TD1 card rendered as issued is in tests/web/test_hosted_steps_api.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
from render import random_identity, td1_lines, td3_lines

from openkyc.biometrics.types import BoundingBox
from openkyc.documents.mrz import parse_mrz
from openkyc.documents.portrait import Portrait
from openkyc.documents.reader import DocumentResult
from openkyc.documents.sides import combine, needs_back

TODAY = date(2026, 11, 29)
PORTRAIT = Portrait(BoundingBox(1, 2, 30, 40), 0.9, np.zeros((40, 30, 3), np.uint8))


def _mrz_side(lines: list[str], portrait: Portrait | None = None) -> DocumentResult:
    mrz = parse_mrz(lines, today=TODAY)
    return DocumentResult("Success", "ID_CARD", dict(mrz.fields), mrz, ("glare",), portrait)


def test_which_side_needs_the_other() -> None:
    person = random_identity(np.random.default_rng(1), TODAY)
    assert needs_back(DocumentResult("Success", "HK_ID", {"document_number": "x"}))  # a card read by a template
    assert needs_back(DocumentResult("FailedOperation.DocumentUnrecognized", None))  # a TD1 front: no MRZ on it
    assert needs_back(_mrz_side(td1_lines(person)))  # a TD1 back: the portrait is on the front
    assert not needs_back(_mrz_side(td1_lines(person), PORTRAIT))  # both on the side photographed
    assert not needs_back(_mrz_side(td3_lines(person), None))  # a passport's photo page
    assert not needs_back(DocumentResult("FailedOperation.DocumentNotFound", None))  # take it again instead


def test_both_sides_make_one_result() -> None:
    person = random_identity(np.random.default_rng(2), TODAY)
    front = DocumentResult(
        "Success", "GENERIC_ID", {"name": "A", "document_number": "front"}, None, ("blur",), PORTRAIT
    )
    back = _mrz_side(td1_lines(person))
    for first, second in ((front, back), (back, front)):  # in either order
        both = combine(first, second)
        assert both.mrz is back.mrz and both.code == "Success" and both.document_type == "ID_CARD"
        assert both.portrait is PORTRAIT
        assert both.fields == {**front.fields, **back.fields}  # the MRZ side's fields win
        assert set(both.warnings) == {"blur", "glare"}
    assert combine(front, None) is front
    blank = DocumentResult("FailedOperation.DocumentNotFound", None)
    card = DocumentResult("Success", "HK_ID", {"document_number": "A123456(3)"})
    assert combine(card, blank).code == "Success" and combine(blank, card).document_type == "HK_ID"
    unread = DocumentResult("FailedOperation.DocumentUnrecognized", None)
    assert combine(unread, blank).code == "FailedOperation.DocumentUnrecognized"
