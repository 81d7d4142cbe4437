"""Find the MRZ among recognised text lines and cut each line to its format's length.

OCR of an MRZ drops or doubles fillers in long ``<`` runs, reads ``<<`` as ``«`` and sometimes a
filler as a space. :func:`fit_length` repairs only the filler runs (never a letter or digit);
:func:`find_mrz` groups consecutive MRZ-looking lines (3 x 30, 2 x 36, 2 x 44), parses each group
and keeps the best (every check digit holding first).
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass
from datetime import date

import numpy as np

from openkyc.documents.mrz import MrzResult, parse_mrz
from openkyc.documents.mrzlayout import LINE_SHAPES
from openkyc.documents.ocr import Alternatives, Quad, TextLine

MAX_LENGTH_FIX = 3
_MRZ_CHARS = re.compile(r"[A-Z0-9<]")
# Greek and Cyrillic capitals that OCR returns for Latin ones (written as code points for clarity).
_CONFUSABLES = {
    chr(code): latin
    for code, latin in zip(
        (
            0x391,
            0x392,
            0x395,
            0x397,
            0x399,
            0x39A,
            0x39C,
            0x39D,
            0x39F,
            0x3A1,
            0x3A4,
            0x3A5,
            0x3A7,
            0x396,
            0x410,
            0x412,
            0x415,
            0x41A,
            0x41C,
            0x41D,
            0x41E,
            0x420,
            0x421,
            0x422,
            0x425,
            0x423,
        ),
        "ABEHIKMNOPTYXZ" + "ABEKMHOPCTXY",
        strict=True,
    )
}
_LOOKALIKES = str.maketrans({"\u00ab": "<<", "\u2039": "<", "(": "<", "[": "<", "{": "<", "|": "I"} | _CONFUSABLES)
UNREADABLE = "?"
"""Kept in place of a character outside the MRZ alphabet: the line keeps its length and is never valid."""


@dataclass(frozen=True)
class MrzFinding:
    """The parsed MRZ, the lines' quads and the band's bounding box ``(x, y, w, h)``."""

    result: MrzResult
    quads: tuple[Quad, ...]
    band: tuple[float, float, float, float]

    def __repr__(self) -> str:
        return f"MrzFinding(result={self.result!r})"


def normalise(text: str) -> str:
    """Upper case, look-alikes (Greek, Cyrillic, ``«``) mapped, anything else outside ``A-Z 0-9 <`` made ``?``.

    Punctuation that OCR adds around a line (``.``, ``,``, ``'``) is dropped.
    """
    text = text.upper().translate(_LOOKALIKES).strip(" .,'`")
    return "".join(c if c == " " or _MRZ_CHARS.match(c) else UNREADABLE for c in text)


def looks_like_mrz(text: str) -> bool:
    """A line that could be an MRZ line: 26-48 MRZ characters, mostly upper-case and digits."""
    raw = text.strip()
    if not raw:
        return False
    clean = normalise(raw).replace(" ", "")
    if not 26 <= len(clean) <= 48:
        return False
    lower = sum(c.islower() for c in raw)
    unreadable = clean.count(UNREADABLE)
    return lower <= 2 and unreadable <= 3 and ("<" in clean or clean.replace(UNREADABLE, "").isalnum())


def fit_length(text: str, target: int) -> str | None:
    """``text`` made ``target`` long by growing or shrinking its longest filler run, else None."""
    text = normalise(text).strip()
    if " " in text:
        squeezed, filled = text.replace(" ", ""), text.replace(" ", "<")
        text = filled if len(filled) == target and len(squeezed) != target else squeezed
    diff = target - len(text)
    if abs(diff) > MAX_LENGTH_FIX:
        return None
    while diff:
        runs = [(m.end() - m.start(), m.start(), m.end()) for m in re.finditer(r"<+", text)]
        if not runs:
            return None
        length, _start, end = max(runs)
        if diff > 0:
            text = text[:end] + "<" + text[end:]
            diff -= 1
        else:
            if length < 2:
                return None
            text = text[: end - 1] + text[end:]
            diff += 1
    return text


def line_evidence(line: TextLine, fitted: str) -> tuple[list[float], list[Alternatives] | None]:
    """Confidence and alternatives of each character of ``fitted`` (made from ``line.text`` by normalise and fit_length).

    Characters are matched to the recognised text by alignment; a filler added by the length repair
    gets confidence 0 and no alternatives (fillers never need confidence).
    """
    confs = line.char_confidences()
    given = line.char_alternatives()
    chars: list[str] = []
    values: list[tuple[float, Alternatives]] = []
    for k, char in enumerate(line.text):
        mapped = normalise(char) if char.strip() else " "
        alts = given[k] if given is not None else ()
        normalised = tuple((normalise(c) or c, p) for c, p in alts)
        for m in mapped:
            chars.append(m)
            values.append((confs[k], normalised))
    source = "".join(chars)
    out: list[tuple[float, Alternatives]] = [(0.0, ())] * len(fitted)
    matcher = difflib.SequenceMatcher(None, source, fitted, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and a1 - a0 == b1 - b0):  # a space made a filler
            for k in range(b1 - b0):
                out[b0 + k] = values[a0 + k]
    return [c for c, _ in out], (None if given is None else [a for _, a in out])


def _center_y(line: TextLine) -> float:
    return float(np.mean([p[1] for p in line.box]))


def _target_length(lines: list[TextLine]) -> int | None:
    lengths = [len(normalise(line.text).replace(" ", "")) for line in lines]
    mean = sum(lengths) / len(lengths)
    best = min(LINE_SHAPES, key=lambda n: abs(n - mean))
    return best if abs(best - mean) <= MAX_LENGTH_FIX and LINE_SHAPES[best] == len(lines) else None


def _band(lines: list[TextLine]) -> tuple[float, float, float, float]:
    xs = [p[0] for line in lines for p in line.box]
    ys = [p[1] for line in lines for p in line.box]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _rank(result: MrzResult) -> tuple[bool, int, bool]:
    return (result.valid, sum(c.ok for c in result.checks), not result.unknown_state_codes)


def find_mrz(lines: list[TextLine], *, today: date) -> MrzFinding | None:
    """The best-parsing MRZ among ``lines`` (any order), or None when no group parses."""
    candidates = sorted((line for line in lines if looks_like_mrz(line.text)), key=_center_y)
    best: MrzFinding | None = None
    for size in (2, 3):
        for i in range(len(candidates) - size + 1):
            group = candidates[i : i + size]
            if not _stacked(group):
                continue
            target = _target_length(group)
            if target is None:
                continue
            fitted = [fit_length(line.text, target) for line in group]
            if any(f is None for f in fitted):
                continue
            texts = [f for f in fitted if f is not None]
            evidence = [line_evidence(line, text) for line, text in zip(group, texts, strict=True)]
            given = [alts for _, alts in evidence if alts is not None]
            try:
                result = parse_mrz(
                    texts,
                    today=today,
                    confidences=[confs for confs, _ in evidence],
                    alternatives=given if len(given) == len(evidence) else None,
                )
            except ValueError:
                continue
            finding = MrzFinding(result, tuple(line.box for line in group), _band(group))
            if best is None or _rank(result) > _rank(best.result):
                best = finding
    return best


def _stacked(group: list[TextLine]) -> bool:
    """Consecutive lines of similar height, each below the previous by less than 3 line heights."""
    heights = [max(line.height, 1.0) for line in group]
    if max(heights) > 2.0 * min(heights):
        return False
    ys = [_center_y(line) for line in group]
    step = float(np.median(heights))
    return all(0.5 * step < b - a < 3.0 * step for a, b in itertools.pairwise(ys))
