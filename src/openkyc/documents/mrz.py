"""Parse machine-readable zones (ICAO 9303): TD1, TD2, TD3, MRV-A and MRV-B.

``parse_mrz`` takes the MRZ lines (already cut to their format's length, see
:mod:`openkyc.documents.mrzfind`), corrects OCR confusions *only where the field's character class
forces it* (a letter in a date is a misread digit, a digit in a name is a misread letter), checks
every check digit and returns a frozen :class:`MrzResult`. A failing check digit is reported, never
"repaired": alphanumeric fields (document number, optional data) are kept as read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openkyc.documents import checkdigits
from openkyc.documents.codes import is_known_state
from openkyc.documents.mrzlayout import FORMATS, Layout, detect_format

TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}
TO_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}
FILLER_LOOKALIKES = frozenset("KCL")
SEXES = frozenset("MFX<")
PERSONAL_FIELDS = frozenset(
    {"surname", "given_names", "document_number", "birth_date", "expiry_date", "optional_data", "optional_data_2"}
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check digit: the digit read from the MRZ, the one computed from its field, and the verdict."""

    name: str
    read: str
    expected: str
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "read": self.read, "expected": self.expected, "ok": self.ok}


@dataclass(frozen=True)
class MrzResult:
    """A parsed MRZ. ``valid`` is true only when every check digit holds.

    ``fields`` hold identification data: the repr masks them and the lines.
    """

    format: str
    lines: tuple[str, ...]
    fields: dict[str, str]
    checks: tuple[CheckResult, ...]
    birth_date: date | None
    expiry_date: date | None
    expired: bool | None
    unknown_state_codes: tuple[str, ...] = field(default=())

    @property
    def valid(self) -> bool:
        """Every check digit holds, every character is in the MRZ alphabet and the sex field is M, F, X or <."""
        return bool(self.checks) and all(c.ok for c in self.checks) and self.well_formed

    @property
    def well_formed(self) -> bool:
        alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
        return all(set(line) <= alphabet for line in self.lines) and (self.fields.get("sex") or "<") in SEXES

    def __repr__(self) -> str:
        failed = [c.name for c in self.checks if not c.ok]
        return f"MrzResult(format={self.format!r}, valid={self.valid}, failed_checks={failed}, lines=<masked>)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "lines": list(self.lines),
            "valid": self.valid,
            "checks": [c.as_dict() for c in self.checks],
            "expired": self.expired,
            "unknown_state_codes": list(self.unknown_state_codes),
        }


def correct_chars(text: str, char_class: str) -> str:
    """Apply only the corrections a field's class forces: ``N`` digits, ``A`` letters, others as read."""
    if char_class == "N":
        return "".join(TO_DIGIT.get(c, c) for c in text)
    if char_class == "A":
        return "".join(TO_LETTER.get(c, c) for c in text)
    return text


def clean_name(text: str) -> str:
    """Turn filler look-alikes (K, C, L) into ``<`` where the name syntax allows only fillers.

    After the surname/given-names separator ``<<``, the next ``<<`` ends the given names: everything
    after it is filler. Letters other than K, C and L found there are kept (ambiguous: keep the raw reading).
    """
    sep = text.find("<<")
    if sep < 0:
        return text
    head, rest = text[: sep + 2], text[sep + 2 :]
    if rest.startswith("<"):
        return head + _fill(rest)
    end = rest.find("<<")
    if end < 0:
        return text
    return head + rest[: end + 2] + _fill(rest[end + 2 :])


def _fill(text: str) -> str:
    return "".join("<" if c in FILLER_LOOKALIKES else c for c in text)


def split_name(text: str) -> tuple[str, str]:
    """``ERIKSSON<<ANNA<MARIA<<<`` -> (``ERIKSSON``, ``ANNA MARIA``)."""
    surname, _, given = text.strip("<").partition("<<")
    return surname.replace("<", " ").strip(), given.strip("<").replace("<", " ").strip()


def resolve_date(yymmdd: str, *, today: date, kind: str) -> date | None:
    """An ISO date from ``YYMMDD``: birth dates in the past, expiry dates up to 20 years ahead."""
    if len(yymmdd) != 6 or not yymmdd.isdigit():
        return None
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    limit = today if kind == "birth" else _add_years(today, 20)
    for century in (2000, 1900):
        try:
            candidate = date(century + yy, mm, dd)
        except ValueError:
            return None
        if candidate <= limit:
            return candidate
    return None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def correct_lines(lines: list[str], layout: Layout) -> list[str]:
    """Lines with each field corrected by its character class."""
    out = [list(line) for line in lines]
    for spec in layout.fields:
        chunk = "".join(out[spec.line][spec.start : spec.end])
        fixed = correct_chars(chunk, spec.char_class)
        if spec.name == "name":
            fixed = clean_name(fixed)
        out[spec.line][spec.start : spec.end] = list(fixed)
    return ["".join(chars) for chars in out]


def parse_mrz(lines: list[str], *, today: date) -> MrzResult:
    """Parse MRZ lines of a known format (``ValueError`` when the line count and lengths match none)."""
    fmt = detect_format(lines)
    if fmt is None:
        raise ValueError("the lines match no MRZ format")
    layout = FORMATS[fmt]
    fixed = correct_lines([line.upper() for line in lines], layout)
    raw = {spec.name: fixed[spec.line][spec.start : spec.end] for spec in layout.fields}
    checks = []
    for check in layout.checks:
        data = "".join(fixed[line][a:b] for line, a, b in check.data)
        digit = fixed[check.digit[0]][check.digit[1]]
        expected = _safe_check_digit(data)
        checks.append(CheckResult(check.name, digit, expected, checkdigits.verify(data, digit)))
    number, optional = raw["document_number"], raw["optional_data"]
    if fmt == "TD1" and raw["document_number_check"] == "<" and optional.strip("<"):
        number, optional, checks = _td1_long_number(raw, checks)
    surname, given = split_name(raw["name"])
    birth = resolve_date(raw["birth_date"], today=today, kind="birth")
    expiry = resolve_date(raw["expiry_date"], today=today, kind="expiry")
    fields = {
        "document_code": raw["document_code"].strip("<"),
        "issuing_state": raw["issuing_state"].strip("<"),
        "surname": surname,
        "given_names": given,
        "document_number": number.strip("<"),
        "nationality": raw["nationality"].strip("<"),
        "birth_date": birth.isoformat() if birth else raw["birth_date"],
        "sex": raw["sex"].strip("<"),
        "expiry_date": expiry.isoformat() if expiry else raw["expiry_date"],
        "optional_data": optional.strip("<"),
    }
    if "optional_data_2" in raw:
        fields["optional_data_2"] = raw["optional_data_2"].strip("<")
    unknown = tuple(
        name for name in ("issuing_state", "nationality") if not is_known_state(raw[name]) and raw[name].strip("<")
    )
    return MrzResult(
        format=fmt,
        lines=tuple(fixed),
        fields=fields,
        checks=tuple(checks),
        birth_date=birth,
        expiry_date=expiry,
        expired=None if expiry is None else expiry < today,
        unknown_state_codes=unknown,
    )


def _safe_check_digit(data: str) -> str:
    try:
        return checkdigits.check_digit(data)
    except ValueError:
        return "?"


def _td1_long_number(raw: dict[str, str], checks: list[CheckResult]) -> tuple[str, str, list[CheckResult]]:
    """TD1 numbers longer than 9: the rest and the check digit start the optional data (ICAO 9303-5 4.2.4)."""
    extra = raw["optional_data"].split("<", 1)[0]
    if len(extra) < 2:
        return raw["document_number"], raw["optional_data"], checks
    number = raw["document_number"] + extra[:-1]
    digit = extra[-1]
    expected = _safe_check_digit(number)
    fixed = [
        CheckResult("document_number", digit, expected, checkdigits.verify(number, digit))
        if c.name == "document_number"
        else c
        for c in checks
    ]
    return number, raw["optional_data"][len(extra) :], fixed
