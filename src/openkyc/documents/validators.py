"""Named validators for ID-card fields: a small registry that templates refer to by name.

A validator takes the matched value and returns ``Validation`` (``ok`` plus fields derived from
the value, such as a birth date coded in a national ID number). Add one with ``@validator("name")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

Validator = Callable[[str], "Validation"]
VALIDATORS: dict[str, Validator] = {}


@dataclass(frozen=True, slots=True)
class Validation:
    ok: bool
    derived: dict[str, str] = field(default_factory=dict)


CHECK_DIGITS: set[str] = set()
"""Validators that verify a check digit or letter: a value they pass has every character vouched for."""


def validator(name: str, *, check_digit: bool = False) -> Callable[[Validator], Validator]:
    def register(func: Validator) -> Validator:
        VALIDATORS[name] = func
        if check_digit:
            CHECK_DIGITS.add(name)
        return func

    return register


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _century(yy: int, today: date | None = None) -> int:
    today = today or date.today()
    return 2000 + yy if 2000 + yy <= today.year else 1900 + yy


@validator("hkid_check_digit", check_digit=True)
def hkid_check_digit(value: str) -> Validation:
    """Hong Kong identity card: 1-2 letters, 6 digits, check digit (0-9 or A) modulo 11."""
    clean = value.replace("(", "").replace(")", "").replace(" ", "").upper()
    prefix, body, digit = clean[:-7], clean[-7:-1], clean[-1]
    if not (1 <= len(prefix) <= 2 and prefix.isalpha() and body.isdigit()):
        return Validation(False)
    chars = prefix.rjust(2, " ") + body
    total = sum(
        (36 if c == " " else (ord(c) - 55 if c.isalpha() else int(c))) * w
        for c, w in zip(chars, range(9, 1, -1), strict=True)
    )
    expected = (11 - total % 11) % 11
    return Validation(digit == ("A" if expected == 10 else str(expected)))


MYKAD_PLACES = frozenset(
    [f"{n:02d}" for n in range(1, 17)]
    + [f"{n:02d}" for n in range(21, 60)]
    + [f"{n:02d}" for n in (*range(60, 69), 71, 72, *range(74, 80), *range(82, 94), 98, 99)]
)
"""Place-of-birth codes: 01-16 Malaysian states, 21-59 states (older series), 60-99 foreign regions."""


@validator("mykad")
def mykad(value: str) -> Validation:
    """Malaysia MyKad number YYMMDD-PB-###G: a real birth date and a known place-of-birth code.

    No check digit: a misread digit of the serial ``###G`` (or a date or code misread into another
    valid one) passes, so the number is reported unconfirmed (``CardMatch.unconfirmed_fields``)."""
    digits = value.replace("-", "").replace(" ", "")
    if len(digits) != 12 or not digits.isdigit():
        return Validation(False)
    yy, mm, dd = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    born = _date(_century(yy), mm, dd)
    if born is None or digits[6:8] not in MYKAD_PLACES:
        return Validation(False)
    sex = "M" if int(digits[-1]) % 2 else "F"
    return Validation(True, {"birth_date": born.isoformat(), "place_of_birth_code": digits[6:8], "sex": sex})


_NRIC_LETTERS = {"ST": "JZIHGFEDCBA", "FG": "XWUTRQPNMLK"}


@validator("nric_check_letter", check_digit=True)
def nric_check_letter(value: str) -> Validation:
    """Singapore NRIC/FIN: prefix S, T, F or G, 7 digits, a check letter (weights 2,7,6,5,4,3,2)."""
    v = value.upper()
    if len(v) != 9 or v[0] not in "STFG" or not v[1:8].isdigit():
        return Validation(False)
    total = sum(int(c) * w for c, w in zip(v[1:8], (2, 7, 6, 5, 4, 3, 2), strict=True))
    total += 4 if v[0] in "TG" else 0
    table = _NRIC_LETTERS["ST" if v[0] in "ST" else "FG"]
    return Validation(v[8] == table[total % 11])


NIK_PROVINCES = frozenset(
    "11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 63 64 65 71 72 73 74 75 76 81 82 91 92 93 94 95 96".split()
)


@validator("nik")
def nik(value: str) -> Validation:
    """Indonesia NIK: 16 digits PPKKCC DDMMYY SSSS, a known province and a birth date (day + 40 for women).

    No check digit: like MyKad, the number is reported unconfirmed."""
    if len(value) != 16 or not value.isdigit() or value[:2] not in NIK_PROVINCES:
        return Validation(False)
    dd, mm, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    sex = "F" if dd > 40 else "M"
    born = _date(_century(yy), mm, dd - 40 if dd > 40 else dd)
    if born is None:
        return Validation(False)
    return Validation(True, {"birth_date": born.isoformat(), "sex": sex, "region_code": value[:6]})


@validator("date")
def any_date(value: str) -> Validation:
    """A printed date: DD.MM.YYYY, DD/MM/YYYY, DD-MM-YYYY or YYYY-MM-DD."""
    parts = [p for p in value.replace("/", " ").replace(".", " ").replace("-", " ").split() if p.isdigit()]
    if len(parts) != 3:
        return Validation(False)
    a, b, c = (int(p) for p in parts)
    day = _date(a, b, c) if len(parts[0]) == 4 else _date(c, b, a)
    return Validation(day is not None, {"iso": day.isoformat()} if day else {})


@validator("nonempty")
def nonempty(value: str) -> Validation:
    return Validation(bool(value.strip()))
