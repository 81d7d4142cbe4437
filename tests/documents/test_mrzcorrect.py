"""Check-digit-guided correction of look-alikes, confirmation of check-blind characters."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from openkyc.documents.checkdigits import char_value
from openkyc.documents.mrz import parse_mrz
from openkyc.documents.mrzcorrect import BLIND_LOOKALIKES, LOOKALIKE_GROUPS

TODAY = date(2026, 6, 1)
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]


def _evidence(lines: list[str], extra: dict[tuple[int, int], tuple[tuple[str, float], ...]]) -> list[list[tuple]]:
    """Recogniser evidence: nothing likely besides the read character, except at ``extra`` places."""
    return [[extra.get((n, i), ()) for i in range(len(line))] for n, line in enumerate(lines)]


def _confident(lines: list[str]) -> list[list[float]]:
    return [[1.0] * len(line) for line in lines]


def test_groups_are_seen_by_the_check_digit_and_blind_pairs_are_not() -> None:
    for group in LOOKALIKE_GROUPS:
        for a, b in itertools.combinations(group, 2):
            assert (char_value(a) - char_value(b)) % 10 != 0, (a, b)
    for a, others in BLIND_LOOKALIKES.items():
        for b in others:
            assert (char_value(a) - char_value(b)) % 10 == 0, (a, b)


@pytest.mark.parametrize(
    ("line", "index", "wrong"),
    [
        (1, 0, "1"),  # L read as 1: a blind pair, never corrected
        (1, 28, "2"),  # optional data Z read as 2
        (1, 5, "O"),  # document number 0 read as O
        (1, 36, "8"),  # optional data B read as 8
    ],
)
def test_a_lookalike_the_recogniser_doubted_is_corrected(line: int, index: int, wrong: str) -> None:
    true_char = TD3[line][index]
    lines = list(TD3)
    lines[line] = lines[line][:index] + wrong + lines[line][index + 1 :]
    evidence = _evidence(lines, {(line, index): ((true_char, 0.4),)})
    result = parse_mrz(lines, today=TODAY, confidences=_confident(lines), alternatives=evidence)
    if (char_value(true_char) - char_value(wrong)) % 10 == 0 or wrong not in "0ODQ1I2Z5S8B":
        # not a correctable look-alike: reported as read
        assert list(result.lines) != TD3
        return
    assert list(result.lines) == TD3 and result.valid, result.invalid
    assert [c.as_dict() for c in result.corrections] == [
        {
            "field": "document_number" if index < 9 else "optional_data",
            "index": index if index < 9 else index - 28,
            "read": wrong,
            "corrected": true_char,
        }
    ]
    assert result.as_dict()["corrections"][0]["corrected"] == true_char


def test_without_the_recognisers_doubt_nothing_is_corrected() -> None:
    lines = [TD3[0], TD3[1].replace("ZE184226B", "2E184226B")]
    result = parse_mrz(lines, today=TODAY, confidences=_confident(lines), alternatives=_evidence(lines, {}))
    assert not result.checks_pass and result.corrections == ()
    text_only = parse_mrz(lines, today=TODAY)
    assert not text_only.checks_pass and text_only.corrections == ()


def test_a_misprinted_check_digit_is_not_repaired_by_a_correction() -> None:
    lines = [TD3[0], TD3[1].replace("L898902C36", "L898902C46")]
    doubt = {(1, k): (("B", 0.005),) for k in (1, 3)}  # the recogniser slightly doubts both 8s
    result = parse_mrz(lines, today=TODAY, confidences=_confident(lines), alternatives=_evidence(lines, doubt))
    # 8 -> B at index 1 happens to make every check pass: corrected, but on weak evidence it stays
    # unconfirmed until the visual zone agrees (it prints L898902C3: it will not).
    assert [c.as_dict() for c in result.corrections] == [
        {"field": "document_number", "index": 1, "read": "8", "corrected": "B"}
    ]
    assert result.checks_pass and not result.valid
    assert ("document_number", "low_confidence") in result.invalid


def test_two_passing_corrections_mean_none() -> None:
    lines = [TD3[0], TD3[1].replace("ZE184226B", "2E1842268")]
    doubt = {(1, 28): (("Z", 0.3),), (1, 36): (("B", 0.3),), (1, 31): (("B", 0.3),)}
    result = parse_mrz(lines, today=TODAY, confidences=_confident(lines), alternatives=_evidence(lines, doubt))
    assert list(result.lines) == TD3 or result.corrections == ()


def test_td1_correction_uses_the_composite() -> None:
    lines = [TD1[0].replace("D23145890", "D231458S0"), TD1[1], TD1[2]]
    doubt = {(0, 12): (("9", 0.3),), (0, 13): (("0", 0.2), ("O", 0.1))}
    result = parse_mrz(lines, today=TODAY, confidences=_confident(lines), alternatives=_evidence(lines, doubt))
    assert not result.checks_pass  # S is no look-alike of 9: nothing to correct
    lines = [TD1[0].replace("D23145890", "D23145B90"), TD1[1], TD1[2]]
    doubt = {(0, 11): (("8", 0.3),)}
    result = parse_mrz(lines, today=TODAY, confidences=_confident(lines), alternatives=_evidence(lines, doubt))
    assert list(result.lines) == TD1 and result.valid


def test_a_check_blind_lookalike_read_with_doubt_is_unconfirmed() -> None:
    lines = list(TD3)
    doubt = {(1, 1): (("S", 0.05),)}  # 8 or S: the check digit cannot tell
    result = parse_mrz(lines, today=TODAY, confidences=_confident(lines), alternatives=_evidence(lines, doubt))
    assert result.checks_pass and not result.valid
    assert result.invalid == (("document_number", "low_confidence"),)
    assert ("document_number", 1) in result.unconfirmed
    low = _confident(lines)
    low[1][1] = 0.6
    result = parse_mrz(lines, today=TODAY, confidences=low, alternatives=_evidence(lines, {}))
    assert not result.valid and ("document_number", 1) in result.unconfirmed
    assert parse_mrz(lines, today=TODAY, confidences=_confident(lines), alternatives=_evidence(lines, {})).valid


def test_6_for_g_in_a_document_number_is_never_valid_without_confirmation() -> None:
    """The issue's case: ``G`` read as ``6`` inside a document number passes every check digit."""
    from openkyc.documents.checkdigits import check_digit

    number, misread = "AG1234567", "A61234567"
    body = f"{number}{check_digit(number)}UTO7408122F1204159<<<<<<<<<<<<<<0"
    body = body[:43] + check_digit(body[0:10] + body[13:20] + body[21:43])
    wrong = [TD3[0], misread + body[9:]]
    assert parse_mrz(wrong, today=TODAY).checks_pass  # the check digits cannot see it
    doubt = {(1, 1): (("G", 0.08),)}
    result = parse_mrz(wrong, today=TODAY, confidences=_confident(wrong), alternatives=_evidence(wrong, doubt))
    assert not result.valid and ("document_number", "low_confidence") in result.invalid
