"""Where each field and check digit sits in the five MRZ formats (ICAO 9303 parts 4, 5, 6 and 7).

Character classes: ``A`` letters (and ``<``), ``N`` digits, ``X`` letters or digits (never corrected),
``S`` sex (``M``, ``F``, ``X`` or ``<``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    line: int
    start: int
    end: int
    char_class: str


@dataclass(frozen=True, slots=True)
class CheckSpec:
    name: str
    data: tuple[tuple[int, int, int], ...]  # (line, start, end) pieces, concatenated
    digit: tuple[int, int]  # (line, index)


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    line_count: int
    line_length: int
    fields: tuple[FieldSpec, ...]
    checks: tuple[CheckSpec, ...]


def _header(length: int) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("document_code", 0, 0, 2, "A"),
        FieldSpec("issuing_state", 0, 2, 5, "A"),
        FieldSpec("name", 0, 5, length, "A"),
    )


def _second_line(length: int, optional_end: int) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("document_number", 1, 0, 9, "X"),
        FieldSpec("document_number_check", 1, 9, 10, "N"),
        FieldSpec("nationality", 1, 10, 13, "A"),
        FieldSpec("birth_date", 1, 13, 19, "N"),
        FieldSpec("birth_date_check", 1, 19, 20, "N"),
        FieldSpec("sex", 1, 20, 21, "S"),
        FieldSpec("expiry_date", 1, 21, 27, "N"),
        FieldSpec("expiry_date_check", 1, 27, 28, "N"),
        FieldSpec("optional_data", 1, 28, optional_end, "X"),
    )


_LINE2_CHECKS = (
    CheckSpec("document_number", ((1, 0, 9),), (1, 9)),
    CheckSpec("birth_date", ((1, 13, 19),), (1, 19)),
    CheckSpec("expiry_date", ((1, 21, 27),), (1, 27)),
)

TD3 = Layout(
    "TD3",
    2,
    44,
    (
        *_header(44),
        *_second_line(44, 42),
        FieldSpec("optional_data_check", 1, 42, 43, "N"),
        FieldSpec("composite_check", 1, 43, 44, "N"),
    ),
    (
        *_LINE2_CHECKS,
        CheckSpec("optional_data", ((1, 28, 42),), (1, 42)),
        CheckSpec("composite", ((1, 0, 10), (1, 13, 20), (1, 21, 43)), (1, 43)),
    ),
)

TD2 = Layout(
    "TD2",
    2,
    36,
    (*_header(36), *_second_line(36, 35), FieldSpec("composite_check", 1, 35, 36, "N")),
    (*_LINE2_CHECKS, CheckSpec("composite", ((1, 0, 10), (1, 13, 20), (1, 21, 35)), (1, 35))),
)

MRVA = Layout("MRVA", 2, 44, (*_header(44), *_second_line(44, 44)), _LINE2_CHECKS)
MRVB = Layout("MRVB", 2, 36, (*_header(36), *_second_line(36, 36)), _LINE2_CHECKS)

TD1 = Layout(
    "TD1",
    3,
    30,
    (
        FieldSpec("document_code", 0, 0, 2, "A"),
        FieldSpec("issuing_state", 0, 2, 5, "A"),
        FieldSpec("document_number", 0, 5, 14, "X"),
        FieldSpec("document_number_check", 0, 14, 15, "N"),
        FieldSpec("optional_data", 0, 15, 30, "X"),
        FieldSpec("birth_date", 1, 0, 6, "N"),
        FieldSpec("birth_date_check", 1, 6, 7, "N"),
        FieldSpec("sex", 1, 7, 8, "S"),
        FieldSpec("expiry_date", 1, 8, 14, "N"),
        FieldSpec("expiry_date_check", 1, 14, 15, "N"),
        FieldSpec("nationality", 1, 15, 18, "A"),
        FieldSpec("optional_data_2", 1, 18, 29, "X"),
        FieldSpec("composite_check", 1, 29, 30, "N"),
        FieldSpec("name", 2, 0, 30, "A"),
    ),
    (
        CheckSpec("document_number", ((0, 5, 14),), (0, 14)),
        CheckSpec("birth_date", ((1, 0, 6),), (1, 6)),
        CheckSpec("expiry_date", ((1, 8, 14),), (1, 14)),
        CheckSpec("composite", ((0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)), (1, 29)),
    ),
)

FORMATS: dict[str, Layout] = {layout.name: layout for layout in (TD1, TD2, TD3, MRVA, MRVB)}
LINE_SHAPES: dict[int, int] = {30: 3, 36: 2, 44: 2}
"""Line length -> number of lines."""


def detect_format(lines: list[str]) -> str | None:
    """The format whose line count and length match ``lines`` (visas start with ``V``)."""
    if not lines or len({len(line) for line in lines}) != 1:
        return None
    length = len(lines[0])
    if LINE_SHAPES.get(length) != len(lines):
        return None
    if length == 30:
        return "TD1"
    visa = lines[0][:1].upper() == "V"
    if length == 36:
        return "MRVB" if visa else "TD2"
    return "MRVA" if visa else "TD3"
