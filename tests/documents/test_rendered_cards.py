"""ID cards without an MRZ read from rendered card images with the real OCR: type, number, check digit."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from render_cards import render_card

TODAY = date(2026, 6, 1)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["HK_ID", "SG_NRIC", "MY_MYKAD", "ID_NIK"])
def test_rendered_cards_are_read_with_their_check_digits(reader: Any, kind: str) -> None:
    rng = np.random.default_rng(sum(map(ord, kind)))
    for _ in range(2):
        card = render_card(rng, kind, today=TODAY)
        result = reader.read(card.image, today=TODAY)
        assert result.code == "Success" and result.document_type == kind, (result.code, result.document_type)
        got = result.fields["document_number"].replace(" ", "")
        assert got == card.number
        if kind in ("MY_MYKAD", "ID_NIK"):  # the number codes the birth date and sex
            assert result.fields["birth_date"] == card.fields["birth_date"]
            assert result.fields["sex"] == card.fields["sex"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["HK_ID", "SG_NRIC", "MY_MYKAD", "ID_NIK"])
def test_a_card_with_a_wrong_check_digit_is_not_accepted(reader: Any, kind: str) -> None:
    card = render_card(np.random.default_rng(99), kind, today=TODAY, corrupt=True)
    result = reader.read(card.image, today=TODAY)
    assert result.document_type != kind or result.fields.get("document_number", "").replace(" ", "") != card.number
