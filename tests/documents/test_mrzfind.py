from __future__ import annotations

from datetime import date

from openkyc.documents.mrzfind import find_mrz, fit_length, looks_like_mrz, normalise
from openkyc.documents.ocr import TextLine

TODAY = date(2026, 6, 1)
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]


def _line(text: str, y: float, height: float = 20.0) -> TextLine:
    return TextLine(text, ((10.0, y), (600.0, y), (600.0, y + height), (10.0, y + height)), 0.99)


def test_fit_length_repairs_filler_runs_only() -> None:
    assert fit_length(TD3[0][:-2], 44) == TD3[0]
    assert fit_length(TD3[0] + "<<", 44) == TD3[0]
    assert fit_length("P<UTOERIKSSON«ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 44) == TD3[0]
    assert fit_length("L898902C36UTO 7408122F1204159ZE184226B<<<<<10", 44) == TD3[1]
    assert fit_length("ABC", 44) is None


def test_foreign_characters_stay_unreadable() -> None:
    assert normalise("UT\u00e9") == "UT?"
    assert looks_like_mrz(TD3[0]) and not looks_like_mrz("Date of expiry / Date d'expiration")


def test_find_mrz_among_other_lines() -> None:
    lines = [_line("PASSPORT", 10), _line(TD3[1], 330), _line(TD3[0], 300), _line("Surname", 50)]
    finding = find_mrz(lines, today=TODAY)
    assert finding is not None and list(finding.result.lines) == TD3 and finding.result.valid
    assert finding.band[1] == 300


def test_unreadable_character_is_never_valid() -> None:
    bad = TD3[1].replace("UTO", "UT\u00e9")
    finding = find_mrz([_line(TD3[0], 300), _line(bad, 330)], today=TODAY)
    assert finding is not None and not finding.result.valid


def test_no_mrz() -> None:
    assert find_mrz([_line("HELLO WORLD", 10)], today=TODAY) is None
