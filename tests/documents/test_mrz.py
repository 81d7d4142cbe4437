from __future__ import annotations

from datetime import date

import pytest

from openkyc.documents.checkdigits import check_digit, verify
from openkyc.documents.codes import is_known_state
from openkyc.documents.mrz import clean_name, correct_chars, parse_mrz, resolve_date

TODAY = date(2026, 6, 1)
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]


@pytest.mark.parametrize(
    ("data", "digit"),
    [("L898902C3", "6"), ("740812", "2"), ("120415", "9"), ("ZE184226B<<<<<", "1"), ("D23145890", "7"), ("<<<", "0")],
)
def test_check_digit_icao_examples(data: str, digit: str) -> None:
    assert check_digit(data) == digit
    assert verify(data, digit)


def test_check_digit_rejects_foreign_characters() -> None:
    with pytest.raises(ValueError):
        check_digit("AB-1")
    assert not verify("AB-1", "0")


def test_parse_td3_specimen() -> None:
    result = parse_mrz(TD3, today=TODAY)
    assert result.format == "TD3" and result.valid
    assert result.fields["surname"] == "ERIKSSON" and result.fields["given_names"] == "ANNA MARIA"
    assert result.fields["birth_date"] == "1974-08-12" and result.fields["expiry_date"] == "2012-04-15"
    assert result.expired is True
    assert [c.name for c in result.checks] == [
        "document_number",
        "birth_date",
        "expiry_date",
        "optional_data",
        "composite",
    ]


def test_ocr_confusions_fixed_only_where_the_class_forces_them() -> None:
    noisy = ["P<UT0ERIKSS0N<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UT07408I22F12O4159ZE184226B<<<<<10"]
    result = parse_mrz(noisy, today=TODAY)
    assert list(result.lines) == TD3 and result.valid


def test_failing_check_digit_is_reported_not_repaired() -> None:
    wrong = [TD3[0], TD3[1].replace("L898902C36", "L898902C46")]
    result = parse_mrz(wrong, today=TODAY)
    assert not result.valid
    failed = {c.name: c for c in result.checks if not c.ok}
    assert set(failed) == {"document_number", "composite"}
    assert failed["document_number"].read == "6"
    assert failed["document_number"].expected == check_digit("L898902C4")
    assert result.fields["document_number"] == "L898902C4"


def test_alphanumeric_field_keeps_raw_reading() -> None:
    # O in a document number could be 0: ambiguous, so it is kept and the check fails.
    result = parse_mrz([TD3[0], "L898902O36UTO7408122F1204159ZE184226B<<<<<10"], today=TODAY)
    assert result.fields["document_number"] == "L898902O3" and not result.valid


def test_td1_and_formats() -> None:
    assert parse_mrz(TD1, today=TODAY).valid
    visa = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"]
    result = parse_mrz(visa, today=TODAY)
    assert result.format == "MRVB" and result.valid and result.fields["expiry_date"] == "1996-12-10"
    with pytest.raises(ValueError):
        parse_mrz(["P<UTO", "123"], today=TODAY)


def test_td1_long_document_number() -> None:
    line1 = "I<UTOD23145890<AB1234<<<<<<<<<"
    number = "D23145890AB123"
    line1 = f"I<UTO{number[:9]}<{number[9:]}{check_digit(number)}".ljust(30, "<")
    line2 = "7408122F1204159UTO<<<<<<<<<<<"
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    result = parse_mrz([line1, line2, TD1[2]], today=TODAY)
    assert result.valid and result.fields["document_number"] == number


def test_filler_lookalikes_in_names() -> None:
    assert clean_name("ERIKSSON<<ANNA<MARIA<<<<K<<<C<") == "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
    assert clean_name("SMITH<<<<<L<<") == "SMITH<<<<<<<<"
    assert correct_chars("7408I2", "N") == "740812" and correct_chars("UT0", "A") == "UTO"
    assert correct_chars("L8O", "X") == "L8O"


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("740812", "birth", date(1974, 8, 12)),
        ("100101", "birth", date(2010, 1, 1)),
        ("300101", "birth", date(1930, 1, 1)),
        ("451231", "expiry", date(2045, 12, 31)),
        ("961210", "expiry", date(1996, 12, 10)),
        ("991332", "birth", None),
    ],
)
def test_century_resolution(raw: str, kind: str, expected: date | None) -> None:
    assert resolve_date(raw, today=TODAY, kind=kind) == expected


def test_state_codes() -> None:
    assert is_known_state("D<<") and is_known_state("UTO") and is_known_state("XXA") and is_known_state("FRA")
    assert not is_known_state("ZZZ")
    result = parse_mrz([TD3[0].replace("UTO", "ZZZ"), TD3[1]], today=TODAY)
    assert result.unknown_state_codes == ("issuing_state",)


def test_repr_masks_personal_data() -> None:
    result = parse_mrz(TD3, today=TODAY)
    assert "ERIKSSON" not in repr(result) and "L898902C3" not in repr(result)
