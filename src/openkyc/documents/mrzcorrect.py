"""Check-digit-guided correction of look-alike characters in an MRZ's alphanumeric fields.

OCR confuses ``0/O/D/Q``, ``1/I``, ``2/Z``, ``5/S`` and ``8/B``. In digit-only fields (dates, check
digits) and letter-only fields (codes, names) the field's alphabet decides (:func:`correct_chars`
in :mod:`openkyc.documents.mrz`). In the alphanumeric fields (document number, optional data) both
members are allowed, but their ICAO values differ by an amount the 7-3-1 check digit sees: changing
one for the other always changes the field's check digit. So when the reading fails its checks,
:func:`guided_corrections` tries the look-alike alternatives of the characters in the fields under a
check digit, fewest changes first, and accepts a set of changes only when

- every check digit involved holds afterwards (the field's own and the composite), and
- it is the *only* set of changes, of any size up to :data:`MAX_CHANGES`, that does.

Pairs the check digit cannot see (values differing by a multiple of 10, such as ``6/G``, ``8/S``,
``1/L``) are never corrected here; :data:`BLIND_LOOKALIKES` lists those that also look alike, for the
confidence rule in :mod:`openkyc.documents.mrz`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openkyc.documents.checkdigits import char_value
from openkyc.documents.mrzlayout import Layout

LOOKALIKE_GROUPS: tuple[str, ...] = ("0ODQ", "1I", "2Z", "5S", "8B")
"""Characters OCR confuses whose values the check digit tells apart (no two differ by a multiple of 10)."""

BLIND_LOOKALIKES: dict[str, str] = {
    "6": "G",
    "G": "6Q",
    "Q": "G",
    "8": "S",
    "S": "8",
    "0": "U",
    "U": "0",
    "1": "L",
    "L": "1",
    "F": "P",
    "P": "F",
}
"""Look-alike characters whose values differ by a multiple of 10: the check digit cannot tell them apart."""

MAX_CHANGES = 3
MAX_CANDIDATES = 20_000


def _alternatives() -> dict[str, str]:
    out: dict[str, str] = {}
    for group in LOOKALIKE_GROUPS:
        for c in group:
            out[c] = group.replace(c, "")
    return out


ALTERNATIVES = _alternatives()


def _check_groups_distinct() -> None:
    for group in LOOKALIKE_GROUPS:
        for a, b in itertools.combinations(group, 2):
            if (char_value(a) - char_value(b)) % 10 == 0:  # pragma: no cover - a data error
                raise AssertionError(f"{a}/{b} is blind to the check digit")


_check_groups_distinct()


@dataclass(frozen=True, slots=True)
class Correction:
    """One corrected character: its field, its index in the field, what was read and what it became."""

    field: str
    index: int
    read: str
    corrected: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "index": self.index, "read": self.read, "corrected": self.corrected}


def checked_positions(layout: Layout) -> set[tuple[int, int]]:
    """(line, index) of every character under at least one check digit."""
    covered: set[tuple[int, int]] = set()
    for check in layout.checks:
        for line, a, b in check.data:
            covered.update((line, i) for i in range(a, b))
    return covered


def guided_corrections(
    lines: list[str],
    layout: Layout,
    passes: Callable[[list[str]], bool],
    allowed: Callable[[int, int, str], bool] | None = None,
) -> tuple[list[str], tuple[Correction, ...]]:
    """``lines`` with the unique fewest look-alike changes after which ``passes`` holds, and the changes.

    ``passes(lines)`` must say whether every check digit holds. ``allowed(line, index, char)`` says
    whether ``char`` may replace the character read there (the recogniser's own evidence; None:
    every look-alike may). Every set of up to :data:`MAX_CHANGES` changes is tried; the lines are
    corrected only when exactly one of them passes (two passing sets, of any sizes: nothing is
    corrected). When the lines already pass, they come back unchanged.
    """
    if passes(lines):
        return lines, ()
    covered = checked_positions(layout)
    spots: list[tuple[int, int, str, str]] = []  # (line, index, field, alternatives)
    for spec in layout.fields:
        if spec.char_class != "X":
            continue
        for i in range(spec.start, spec.end):
            char = lines[spec.line][i]
            if (spec.line, i) not in covered or char not in ALTERNATIVES:
                continue
            alts = "".join(c for c in ALTERNATIVES[char] if allowed is None or allowed(spec.line, i, c))
            if alts:
                spots.append((spec.line, i, spec.name, alts))
    found: list[list[tuple[int, int, str, str]]] = []
    tried = 0
    for size in range(1, min(MAX_CHANGES, len(spots)) + 1):
        for combo in itertools.combinations(spots, size):
            for chars in itertools.product(*(alts for *_, alts in combo)):
                tried += 1
                if tried > MAX_CANDIDATES:
                    return lines, ()
                candidate = _apply(lines, [(line, i, c) for (line, i, _, _), c in zip(combo, chars, strict=True)])
                if passes(candidate):
                    found.append([(line, i, name, c) for (line, i, name, _), c in zip(combo, chars, strict=True)])
                    if len(found) > 1:
                        return lines, ()  # ambiguous: two different corrections pass
    if len(found) != 1:
        return lines, ()
    changes = found[0]
    fixed = _apply(lines, [(line, i, c) for line, i, _, c in changes])
    starts = {spec.name: spec.start for spec in layout.fields}
    return fixed, tuple(Correction(name, i - starts[name], lines[line][i], c) for line, i, name, c in changes)


def _apply(lines: Sequence[str], changes: Sequence[tuple[int, int, str]]) -> list[str]:
    out = [list(line) for line in lines]
    for line, i, c in changes:
        out[line][i] = c
    return ["".join(chars) for chars in out]
