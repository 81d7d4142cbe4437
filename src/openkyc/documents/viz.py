"""Cross-check of the MRZ with the visual inspection zone (VIZ): the text printed on the document.

The check digits cannot see every misreading (``6/G``, ``8/S`` and the other pairs whose values
differ by a multiple of 10; names and state codes are under no check digit at all). The VIZ prints
the same document number, names, dates and sex in another font, read by the same recogniser from
other pixels: where it prints a field, it must agree with the MRZ.

For each field the VIZ either *agrees* (the MRZ value is printed), *disagrees* (a value of the same
kind that is close to the MRZ's but different is printed, and nothing equal), or says nothing (the
field is not found: no verdict). Layouts differ between issuers, so fields are found by their
shape, not by their position: a token like the document number, words like the names, dates in the
common printed forms (``12 AUG/AOUT 74``, ``12.08.1974``, ``12/08/1974``, ``1974-08-12``, ``740812``).

Differences the MRZ's check digit has already ruled out (``0/O``, ``2/Z``, ``5/S``, ``8/B``, ``1/I``
in a document number whose check digit holds) are the VIZ's misreadings and do not count.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from openkyc.documents.mrz import MrzResult
from openkyc.documents.mrzcorrect import ALTERNATIVES

MONTHS = {
    "JAN": 1, "JANV": 1, "ENE": 1, "GEN": 1,
    "FEB": 2, "FEV": 2, "FEVR": 2, "FEBR": 2,
    "MAR": 3, "MARS": 3, "MRZ": 3, "MAER": 3,
    "APR": 4, "AVR": 4, "ABR": 4, "AVRIL": 4,
    "MAY": 5, "MAI": 5, "MAG": 5,
    "JUN": 6, "JUIN": 6, "GIU": 6,
    "JUL": 7, "JUIL": 7, "LUG": 7,
    "AUG": 8, "AOUT": 8, "AGO": 8,
    "SEP": 9, "SEPT": 9, "SET": 9,
    "OCT": 10, "OKT": 10, "OTT": 10,
    "NOV": 11,
    "DEC": 12, "DIC": 12, "DEZ": 12,
}  # fmt: skip
_TRANSLIT = {"Æ": "AE", "Ø": "OE", "Å": "AA", "Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "Þ": "TH", "Ð": "D"}
_DATE_PATTERNS = (
    re.compile(r"\b(\d{1,2})\s*([A-Z]{3,5})(?:\s*/\s*[A-Z]{3,5})?\s*(\d{4}|\d{2})\b"),  # 12 AUG/AOUT 74
    re.compile(r"\b(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})\b"),  # 12.08.1974
    re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"),  # 1974-08-12
    re.compile(r"\b(\d{2})(\d{2})(\d{2})\b"),  # 740812 (YYMMDD)
)


@dataclass(frozen=True)
class VizCheck:
    """The outcome: fields printed differently, and characters of the MRZ the VIZ confirms."""

    mismatches: tuple[str, ...]
    confirmed: frozenset[tuple[str, int]]
    found: tuple[str, ...]

    def __repr__(self) -> str:
        return f"VizCheck(mismatches={list(self.mismatches)}, found={list(self.found)})"

    def prints(self, mrz: MrzResult, name: str) -> bool:
        """Whether the visual zone prints every character of the MRZ field ``name`` alike."""
        value = mrz.fields.get(name, "")
        return bool(value) and all((name, i) in self.confirmed for i in range(len(value)))


def transliterate(text: str) -> str:
    """Upper case, ICAO-style transliteration of common Latin letters with marks (``Ü`` -> ``UE``), marks dropped."""
    text = "".join(_TRANSLIT.get(c, c) for c in text.upper())
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def printed_dates(texts: Sequence[str]) -> set[str]:
    """Every date printed in ``texts`` as ``YYMMDD``."""
    out: set[str] = set()
    for raw in texts:
        text = transliterate(raw)
        for k, pattern in enumerate(_DATE_PATTERNS):
            for m in pattern.finditer(text):
                a, b, c = m.groups()
                if k == 0:
                    month = MONTHS.get(b[:5]) or MONTHS.get(b[:4]) or MONTHS.get(b[:3])
                    day, year = int(a), c
                elif k == 1:
                    month, day, year = int(b), int(a), c
                elif k == 2:
                    month, day, year = int(b), int(c), a
                else:
                    year, month, day = a, int(b), int(c)
                if month and 1 <= month <= 12 and 1 <= day <= 31:
                    out.add(f"{year[-2:]}{month:02d}{day:02d}")
    return out


def _compact(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", transliterate(text))


def _words(texts: Sequence[str]) -> set[str]:
    return {w for t in texts for w in re.findall(r"[A-Z]+", transliterate(t))}


def _number_check(number: str, texts: Sequence[str], checked: bool = True) -> tuple[str | None, set[int]]:
    """('agree'|'disagree'|None, indexes confirmed) for an alphanumeric MRZ value against the VIZ.

    ``checked``: the value is under a check digit, which has ruled out ``0/O``-type differences; a
    value under none (the MRV optional data) must be printed character for character."""
    if len(number) < 4:
        return None, set()
    compact = [_compact(t) for t in texts]
    if any(number in c for c in compact):
        return "agree", set(range(len(number)))
    best: tuple[float, str] | None = None
    for c in compact:
        for start in range(0, max(1, len(c) - len(number) + 1)):
            window = c[start : start + len(number)]
            if len(window) != len(number):
                continue
            ratio = sum(a == b for a, b in zip(window, number, strict=True)) / len(number)
            if best is None or ratio > best[0]:
                best = (ratio, window)
    if best is None or best[0] < 0.75:
        return None, set()
    window = best[1]
    # A difference the check digit has ruled out is the VIZ's misreading (its sans-serif 0 and O
    # look alike too); when that is the only kind of difference, the VIZ confirms every position.
    pairs = list(zip(window, number, strict=True))
    real = [i for i, (a, b) in enumerate(pairs) if a != b and not (checked and a in ALTERNATIVES.get(b, ""))]
    if real:
        return "disagree", {i for i, (a, b) in enumerate(pairs) if a == b}
    return "agree", set(range(len(number)))


def _name_check(value: str, words: set[str], truncated: bool) -> str | None:
    parts = value.split()
    if truncated and parts:
        parts = parts[:-1]
    verdicts = []
    for part in parts:
        if len(part) < 3:
            continue
        if part in words:
            verdicts.append("agree")
            continue
        close = [w for w in words if len(w) >= 3 and difflib.SequenceMatcher(None, part, w).ratio() >= 0.8]
        if close:
            verdicts.append("disagree")
    if "disagree" in verdicts:
        return "disagree"
    return "agree" if verdicts else None


def _date_check(value: date | None, printed: set[str], others: set[str]) -> str | None:
    if value is None or not printed:
        return None
    yymmdd = value.strftime("%y%m%d")
    if yymmdd in printed:
        return "agree"
    close = [p for p in printed - others if sum(a != b for a, b in zip(p, yymmdd, strict=True)) <= 2]
    return "disagree" if close else None


def _sex_check(sex: str, texts: Sequence[str]) -> str | None:
    found: set[str] = set()
    for text in texts:
        t = transliterate(text).strip()
        if t in ("M", "F", "X"):
            found.add(t)
        m = re.search(r"\b(?:SEX|SEXE|SEXO|GESCHLECHT)\b\W*([MFX])\b", t)
        if m:
            found.add(m.group(1))
    if len(found) != 1:
        return None
    return "agree" if (sex or "X") in found else "disagree"


def cross_check(mrz: MrzResult, texts: Sequence[str]) -> VizCheck:
    """Compare the MRZ's document number, optional data, names, dates and sex with the VIZ ``texts``."""
    fields = mrz.fields
    verdicts: dict[str, str | None] = {}
    confirmed: set[tuple[str, int]] = set()
    for name in ("document_number", "optional_data", "optional_data_2"):
        value = fields.get(name, "")
        verdict, indexes = _number_check(value, texts, checked=name not in mrz.unconfirmed_fields)
        confirmed.update((name, i) for i in indexes)
        if name == "document_number":
            verdicts[name] = verdict
        elif verdict == "agree":
            verdicts[name] = verdict
    words = _words(texts)
    name_line = mrz.lines[-1] if mrz.format == "TD1" else mrz.lines[0]
    truncated = not name_line.endswith("<")
    verdicts["surname"] = _name_check(fields.get("surname", ""), words, truncated and not fields.get("given_names"))
    verdicts["given_names"] = _name_check(fields.get("given_names", ""), words, truncated)
    printed = printed_dates(texts)
    birth, expiry = mrz.birth_date, mrz.expiry_date
    birth_s = {birth.strftime("%y%m%d")} if birth else set()
    expiry_s = {expiry.strftime("%y%m%d")} if expiry else set()
    verdicts["birth_date"] = _date_check(birth, printed, expiry_s)
    verdicts["expiry_date"] = _date_check(expiry, printed, birth_s)
    verdicts["sex"] = _sex_check(fields.get("sex", ""), texts)
    mismatches = tuple(name for name, v in verdicts.items() if v == "disagree")
    found = tuple(name for name, v in verdicts.items() if v is not None)
    return VizCheck(mismatches, frozenset(confirmed), found)


CROSS_CHECKED = ("document_number", "surname", "given_names", "birth_date", "expiry_date", "sex")
"""The fields whose visual-zone disagreement makes the MRZ not valid."""


def settled(mrz: MrzResult, check: VizCheck, texts: Sequence[str]) -> bool:
    """Whether reading visual-zone lines beyond ``texts`` could change nothing that makes ``mrz`` valid or not.

    True when nothing disagrees and every cross-checked field that the visual zone can give a verdict
    is printed exactly as in the MRZ (the number whole, each name part as a word, the dates; the sex
    agreeing), and every character left unconfirmed lies in a value printed whole. Such agreements
    stay whatever else is read (a second sex letter only takes the sex verdict back to none), so the
    lines not read yet could neither add a mismatch nor leave a character unconfirmed.
    """
    if check.mismatches:
        return False
    fields = mrz.fields
    compact = [_compact(t) for t in texts]
    words = _words(texts)
    printed = printed_dates(texts)

    def whole(name: str) -> bool:
        value = fields.get(name, "")
        return isinstance(value, str) and len(value) >= 4 and any(value in c for c in compact)

    if len(fields.get("document_number", "")) >= 4 and not whole("document_number"):
        return False
    name_line = mrz.lines[-1] if mrz.format == "TD1" else mrz.lines[0]
    truncated = not name_line.endswith("<")
    for name in ("surname", "given_names"):
        parts = fields.get(name, "").split()
        if truncated and parts and (name == "given_names" or not fields.get("given_names")):
            parts = parts[:-1]
        if any(len(part) >= 3 and part not in words for part in parts):
            return False
    for value in (mrz.birth_date, mrz.expiry_date):
        if value is not None and value.strftime("%y%m%d") not in printed:
            return False
    if "sex" not in check.found:
        return False
    return all(name in CONFIRMABLE and whole(name) for name, _ in mrz.unconfirmed)


CONFIRMABLE = ("document_number", "optional_data", "optional_data_2")
"""The fields whose characters the visual zone confirms (:func:`cross_check`)."""


TAMPERING_FIELDS = ("document_number", "surname", "given_names", "sex")
"""Fields whose visual-zone disagreement with an MRZ that passes its check digits is a tampering hint.

Dates are left out: the ICAO MRV-A and MRV-B specimens print other dates in their visual zone than in
their MRZ (a specimen's inconsistency, not an edit), which stays a ``visual_zone_mismatch``."""


def tampering_hint(result: MrzResult) -> bool:
    """Whether one zone of the document looks edited: every MRZ check digit holds (so the MRZ reads
    as issued) while the visual zone prints a document number, name or sex close to it but different."""
    return result.checks_pass and any(name in TAMPERING_FIELDS for name in result.viz_mismatches)
