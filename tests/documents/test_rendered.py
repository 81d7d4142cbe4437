"""The reader on freshly rendered documents (tests/documents/render.py); the full run is benchmarks/eval_documents.py."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from render import render_document

TODAY = date(2026, 6, 1)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["TD3", "TD1"])
def test_rendered_documents_read_exactly(reader: Any, kind: str) -> None:
    rng = np.random.default_rng(2024)
    for _ in range(3):
        doc = render_document(rng, today=TODAY, kind=kind)
        result = reader.read(doc.image, today=TODAY)
        assert result.mrz is not None
        assert list(result.mrz.lines) == doc.lines
        assert result.mrz.valid and result.code == "Success"


@pytest.mark.slow
def test_rendered_check_digit_failure_is_reported(reader: Any) -> None:
    import render

    rng = np.random.default_rng(5)
    person = render.random_identity(rng, TODAY)
    lines = render.td3_lines(person)
    digit = lines[1][19]
    lines[1] = lines[1][:19] + str((int(digit) + 1) % 10) + lines[1][20:]
    doc = render._draw_document(lines, person, False, None, rng)
    image, _ = render._photograph(doc, rng)
    result = reader.read(image, today=TODAY)
    assert result.mrz is not None and list(result.mrz.lines) == lines
    assert not result.mrz.valid and result.code == "FailedOperation.MrzCheckFailed"
    assert [c.name for c in result.mrz.checks if not c.ok] == ["birth_date", "composite"]


@pytest.mark.slow
def test_an_edited_visual_zone_raises_the_tampering_hint(reader: Any) -> None:
    """A passport whose printed document number was changed in one place, its MRZ left as issued."""
    import render

    rng = np.random.default_rng(8)
    person = render.random_identity(rng, TODAY)
    lines = render.td3_lines(person)
    number = person["document_number"]
    digit = next(i for i, c in enumerate(number) if c.isdigit())
    forged = {**person, "document_number": number[:digit] + str((int(number[digit]) + 3) % 10) + number[digit + 1 :]}
    results = {}
    for label, viz in (("forged", forged), ("issued", person)):
        page_rng = np.random.default_rng(9)  # the same page and photo but for the edit
        image, _ = render._photograph(render._draw_document(lines, viz, False, None, page_rng), page_rng)
        results[label] = reader.read(image, today=TODAY)
    forged_result, issued = results["forged"], results["issued"]
    assert forged_result.mrz is not None and list(forged_result.mrz.lines) == lines
    assert "WarnTamperingHint" in forged_result.warnings and forged_result.code == "FailedOperation.MrzNotVerified"
    assert issued.code == "Success" and "WarnTamperingHint" not in issued.warnings
