"""Parse machine-readable zones (ICAO 9303): TD1, TD2, TD3, MRV-A and MRV-B.

``parse_mrz`` takes the MRZ lines (already cut to their format's length, see
:mod:`openkyc.documents.mrzfind`), corrects OCR confusions *only where the field's character class
forces it* (a letter in a date is a misread digit, a digit in a name is a misread letter), checks
every check digit and returns a frozen :class:`MrzResult`. A failing check digit is reported, never
"repaired": alphanumeric fields (document number, optional data) are kept as read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openkyc.documents import checkdigits
from openkyc.documents.codes import is_known_state
from openkyc.documents.mrzcorrect import BLIND_LOOKALIKES, Correction, checked_positions, guided_corrections
from openkyc.documents.mrzlayout import FORMATS, FieldSpec, Layout, detect_format
from openkyc.documents.ocr import Alternatives

TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}
TO_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}
FILLER_LOOKALIKES = frozenset("KCL")
SEXES = frozenset("MFX<")
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
MIN_BLIND_CONFIDENCE = 0.9
MAX_BLIND_ALTERNATIVE = 0.02
"""A check-blind look-alike the recogniser gave this probability or more leaves the character unconfirmed."""
MIN_CORRECTION_EVIDENCE = 1e-4
"""The probability the recogniser must have given a look-alike for it to be tried as a correction."""
MIN_TRUSTED_EVIDENCE = 0.01
"""A correction the recogniser gave less than this needs the visual zone to confirm it."""
"""Per-character confidence a look-alike the check digit cannot see (``6/G``, ``8/S``...) needs, unless the visual zone agrees."""
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
    corrections: tuple[Correction, ...] = field(default=())
    unconfirmed: tuple[tuple[str, int], ...] = field(default=())
    """(field, index) of characters with a check-blind look-alike read with low confidence and not confirmed."""
    viz_mismatches: tuple[str, ...] = field(default=())
    """Fields the visual zone prints differently (set by the reader after the cross-check)."""
    viz_checked: tuple[str, ...] = field(default=())
    """Fields found in the visual zone and compared (agreeing or not)."""
    unconfirmed_fields: tuple[str, ...] = field(default=())
    """Alphanumeric fields read but vouched for by nothing: under no check digit (the MRV optional data)
    and not printed alike in the visual zone. They do not count towards ``valid``; a client that relies
    on one must confirm it otherwise."""

    @property
    def checks_pass(self) -> bool:
        """Every check digit holds and every character is in the MRZ alphabet (the checks alone)."""
        return bool(self.checks) and all(c.ok for c in self.checks) and self.well_formed

    @property
    def valid(self) -> bool:
        """Right as far as can be told: checks hold, known state codes, no unconfirmed blind look-alike, VIZ agrees.

        Fields in :attr:`unconfirmed_fields` are outside this verdict (nothing can vouch for them)."""
        return self.checks_pass and not self.invalid

    @property
    def invalid(self) -> tuple[tuple[str, str], ...]:
        """Why the MRZ is not valid: (field, reason) pairs, empty when it is."""
        out: list[tuple[str, str]] = [(c.name, "check_digit") for c in self.checks if not c.ok]
        if not all(set(line) <= _ALPHABET for line in self.lines):
            out.append(("lines", "bad_character"))
        if (self.fields.get("sex") or "<") not in SEXES:
            out.append(("sex", "bad_sex"))
        out += [(name, "unknown_state_code") for name in self.unknown_state_codes]
        out += [(name, "low_confidence") for name in dict.fromkeys(name for name, _ in self.unconfirmed)]
        out += [(name, "visual_zone_mismatch") for name in self.viz_mismatches]
        return tuple(out)

    @property
    def well_formed(self) -> bool:
        return all(set(line) <= _ALPHABET for line in self.lines) and (self.fields.get("sex") or "<") in SEXES

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
            "corrections": [c.as_dict() for c in self.corrections],
            "visual_zone": {"checked": list(self.viz_checked), "mismatches": list(self.viz_mismatches)},
            "unconfirmed_fields": list(self.unconfirmed_fields),
            "invalid": [{"field": name, "reason": reason} for name, reason in self.invalid],
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


def parse_mrz(
    lines: list[str],
    *,
    today: date,
    confidences: Sequence[Sequence[float]] | None = None,
    alternatives: Sequence[Sequence[Alternatives]] | None = None,
    min_blind_confidence: float = MIN_BLIND_CONFIDENCE,
) -> MrzResult:
    """Parse MRZ lines of a known format (``ValueError`` when the line count and lengths match none).

    ``confidences``: the recogniser's confidence for each character of each line (None: the lines
    were not recognised from pixels but given as text, and every character stands as given).
    ``alternatives``: for each character, other characters the recogniser found likely, with their
    probabilities. With them, a look-alike is tried as a correction only where the recogniser gave it
    at least :data:`MIN_CORRECTION_EVIDENCE`, and a check-blind look-alike of at least
    :data:`MAX_BLIND_ALTERNATIVE` leaves the character unconfirmed. Without them (text only), nothing
    is corrected beyond what each field's alphabet forces.
    """
    fmt = detect_format(lines)
    if fmt is None:
        raise ValueError("the lines match no MRZ format")
    layout = FORMATS[fmt]
    fixed = correct_lines([line.upper() for line in lines], layout)
    corrections: tuple[Correction, ...] = ()
    if alternatives is not None:
        fixed, corrections = guided_corrections(
            fixed,
            layout,
            lambda c: all(r.ok for r in _checks(c, layout)[0]),
            _evidence(alternatives, MIN_CORRECTION_EVIDENCE),
        )
    checks, number, optional = _checks(fixed, layout)
    raw = {spec.name: fixed[spec.line][spec.start : spec.end] for spec in layout.fields}
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
    unknown = tuple(name for name in ("issuing_state", "nationality") if not is_known_state(raw[name]))
    weak = _weak_corrections(corrections, layout, confidences, alternatives)
    return MrzResult(
        format=fmt,
        lines=tuple(fixed),
        fields=fields,
        checks=tuple(checks),
        birth_date=birth,
        expiry_date=expiry,
        expired=None if expiry is None else expiry < today,
        unknown_state_codes=unknown,
        corrections=corrections,
        unconfirmed=tuple(
            dict.fromkeys(
                [*unconfirmed_characters(fixed, layout, confidences, min_blind_confidence, alternatives), *sorted(weak)]
            )
        ),
        unconfirmed_fields=unchecked_fields(fixed, layout),
    )


def _weak_corrections(
    corrections: Sequence[Correction],
    layout: Layout,
    confidences: Sequence[Sequence[float]] | None,
    alternatives: Sequence[Sequence[Alternatives]] | None,
) -> set[tuple[str, int]]:
    """Corrected characters the check digits alone do not vouch for: they need the visual zone.

    One check digit settles one look-alike. A correction is trusted on the check digits alone only
    when it is the field's only correction, the recogniser gave the corrected character at least
    :data:`MIN_TRUSTED_EVIDENCE`, and every other character under the same checks, check digits
    included, was read with confidence (a doubtful character elsewhere could be the real error, and
    the swap that passes a coincidence).
    """
    spec = {s.name: s for s in layout.fields}
    per_field: dict[str, int] = {}
    for c in corrections:
        per_field[c.field] = per_field.get(c.field, 0) + 1
    corrected = {(spec[c.field].line, spec[c.field].start + c.index) for c in corrections}
    weak: set[tuple[str, int]] = set()
    for c in corrections:
        at = (spec[c.field].line, spec[c.field].start + c.index)
        involved = [
            check for check in layout.checks if any(line == at[0] and a <= at[1] < b for line, a, b in check.data)
        ]
        scope = {(line, i) for check in involved for line, a, b in check.data for i in range(a, b)}
        scope |= {check.digit for check in involved}
        evidence = _alternative(alternatives, at[0], at[1], c.corrected)
        doubtful = any(
            _confidence(confidences, line, i) < MIN_BLIND_CONFIDENCE for line, i in scope if (line, i) not in corrected
        )
        if per_field[c.field] > 1 or doubtful or evidence < MIN_TRUSTED_EVIDENCE:
            weak.add((c.field, c.index))
    return weak


def _evidence(alternatives: Sequence[Sequence[Alternatives]], minimum: float) -> Callable[[int, int, str], bool]:
    def allowed(line: int, index: int, char: str) -> bool:
        return _alternative(alternatives, line, index, char) >= minimum

    return allowed


def _alternative(alternatives: Sequence[Sequence[Alternatives]] | None, line: int, index: int, char: str) -> float:
    if alternatives is None or line >= len(alternatives) or index >= len(alternatives[line]):
        return 0.0
    return max((p for c, p in alternatives[line][index] if c == char), default=0.0)


def unconfirmed_characters(
    lines: Sequence[str],
    layout: Layout,
    confidences: Sequence[Sequence[float]] | None,
    minimum: float,
    alternatives: Sequence[Sequence[Alternatives]] | None = None,
) -> list[tuple[str, int]]:
    """(field, index) of alphanumeric characters the check digits cannot vouch for, read below ``minimum``.

    Those are characters with a look-alike of the same check value (``6/G``, ``8/S``, ``0/U``, ``1/L``,
    ``F/P``) in fields under a check digit. A field under no check digit at all (the MRV optional
    data) is not judged character by character: a misreading there can be confident (``0`` for ``O``
    at 0.9 and more, no look-alike weighed), so the whole field is reported by
    :func:`unchecked_fields` instead and left out of ``valid``.
    """
    if confidences is None:
        return []
    covered = checked_positions(layout)
    out = []
    for spec in layout.fields:
        if spec.char_class != "X":
            continue
        for i in range(spec.start, spec.end):
            char = lines[spec.line][i]
            if char == "<" or (spec.line, i) not in covered or char not in BLIND_LOOKALIKES:
                continue
            conf = _confidence(confidences, spec.line, i)
            blind = max((_alternative(alternatives, spec.line, i, c) for c in BLIND_LOOKALIKES[char]), default=0.0)
            if conf < minimum or blind >= MAX_BLIND_ALTERNATIVE:
                out.append((spec.name, i - spec.start))
    return out


def unchecked_fields(lines: Sequence[str], layout: Layout) -> tuple[str, ...]:
    """Alphanumeric fields with a character under no check digit, not empty: what no check can vouch for.

    Only the MRV-A/B optional data (no composite check digit on a visa); TD1, TD2 and TD3 put every
    alphanumeric character under the composite. The reader removes a field the visual zone prints alike.
    """
    covered = checked_positions(layout)
    out = []
    for spec in layout.fields:
        if spec.char_class != "X":
            continue
        spots = [i for i in range(spec.start, spec.end) if (spec.line, i) not in covered]
        if any(lines[spec.line][i] != "<" for i in spots):
            out.append(spec.name)
    return tuple(out)


def _confidence(confidences: Sequence[Sequence[float]] | None, line: int, index: int) -> float:
    if confidences is None or line >= len(confidences) or index >= len(confidences[line]):
        return 0.0
    return float(confidences[line][index])


def _checks(fixed: list[str], layout: Layout) -> tuple[list[CheckResult], str, str]:
    """Every check of ``fixed``, with the document number and optional data (TD1 long numbers joined)."""
    checks = []
    for check in layout.checks:
        data = "".join(fixed[line][a:b] for line, a, b in check.data)
        digit = fixed[check.digit[0]][check.digit[1]]
        expected = _safe_check_digit(data)
        checks.append(CheckResult(check.name, digit, expected, checkdigits.verify(data, digit)))
    spec = {s.name: s for s in layout.fields}
    number = _field(fixed, spec["document_number"])
    optional = _field(fixed, spec["optional_data"])
    if layout.name == "TD1" and _field(fixed, spec["document_number_check"]) == "<" and optional.strip("<"):
        return _td1_long_number(number, optional, checks)
    return checks, number, optional


def _field(lines: list[str], spec: FieldSpec) -> str:
    return lines[spec.line][spec.start : spec.end]


def _safe_check_digit(data: str) -> str:
    try:
        return checkdigits.check_digit(data)
    except ValueError:
        return "?"


def _td1_long_number(number: str, optional: str, checks: list[CheckResult]) -> tuple[list[CheckResult], str, str]:
    """TD1 numbers longer than 9: the rest and the check digit start the optional data (ICAO 9303-5 4.2.4)."""
    extra = optional.split("<", 1)[0]
    if len(extra) < 2:
        return checks, number, optional
    long_number = number + extra[:-1]
    digit = extra[-1]
    expected = _safe_check_digit(long_number)
    fixed = [
        CheckResult("document_number", digit, expected, checkdigits.verify(long_number, digit))
        if c.name == "document_number"
        else c
        for c in checks
    ]
    return fixed, long_number, optional[len(extra) :]
