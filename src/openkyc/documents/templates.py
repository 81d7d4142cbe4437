"""ID cards without an MRZ: one declarative template per document type.

A template names its document type, optional keywords that must appear on the card, and its
fields: a regular expression (the first group is the value), whether it is found after a printed
label, and the names of validators from :mod:`openkyc.documents.validators`. A new country is a
new ``CardTemplate`` in ``TEMPLATES`` (or passed to :func:`match_templates`), not new code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from openkyc.documents.validators import CHECK_DIGITS, VALIDATORS


@dataclass(frozen=True, slots=True)
class FieldRule:
    name: str
    pattern: str
    validators: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True, slots=True)
class CardTemplate:
    document_type: str
    fields: tuple[FieldRule, ...]
    keywords: tuple[str, ...] = ()  # any one of them must appear (case-insensitive); empty: no condition
    priority: int = 0


@dataclass(frozen=True)
class CardMatch:
    document_type: str
    fields: dict[str, str] = field(default_factory=dict)
    failed_validators: tuple[str, ...] = ()
    unconfirmed_fields: tuple[str, ...] = ()
    """``document_number`` when no check digit vouches for it (MyKad, NIK, a generic card)."""

    def __repr__(self) -> str:
        return f"CardMatch(document_type={self.document_type!r}, fields=<{len(self.fields)} masked>)"


_NAME = r"(?im)^\s*(?:name|full name|nama)\s*[:.]?\s*([A-Z][A-Z ,.'-]{1,60})$"
_BIRTH = r"(?i)(?:date of birth|birth date|born|tarikh lahir|tgl lahir)\s*[:.]?\s*(\d{1,4}[./ -]\d{1,2}[./ -]\d{1,4})"

TEMPLATES: tuple[CardTemplate, ...] = (
    CardTemplate(
        "HK_ID",
        (
            FieldRule("document_number", r"\b([A-Z]{1,2}\d{6}\s?\(?[0-9A]\)?)", ("hkid_check_digit",), True),
            FieldRule("name", _NAME),
            FieldRule("birth_date", _BIRTH, ("date",)),
        ),
        keywords=("HONG KONG", "香港"),
        priority=10,
    ),
    CardTemplate(
        "MY_MYKAD",
        (
            FieldRule("document_number", r"\b(\d{6}-\d{2}-\d{4})\b", ("mykad",), True),
            FieldRule("name", _NAME),
        ),
        keywords=("MALAYSIA", "MYKAD"),
        priority=10,
    ),
    CardTemplate(
        "SG_NRIC",
        (
            FieldRule("document_number", r"\b([STFG]\d{7}[A-Z])\b", ("nric_check_letter",), True),
            FieldRule("name", _NAME),
            FieldRule("birth_date", _BIRTH, ("date",)),
        ),
        keywords=("SINGAPORE", "NRIC", "FIN"),
        priority=10,
    ),
    CardTemplate(
        "ID_NIK",
        (
            FieldRule("document_number", r"(?:NIK\s*[:.]?\s*)?\b(\d{16})\b", ("nik",), True),
            FieldRule("name", _NAME),
        ),
        keywords=("NIK", "INDONESIA", "PROVINSI"),
        priority=10,
    ),
    CardTemplate(
        "GENERIC_ID",
        (
            FieldRule(
                "document_number",
                r"(?i)(?:id\s*(?:no|number|card no)|document\s*(?:no|number)|card\s*no)\.?\s*[:.]?\s*([A-Z0-9-]{5,20})",
                ("nonempty",),
                True,
            ),
            FieldRule("name", _NAME),
            FieldRule("surname", r"(?im)^\s*(?:surname|family name)\s*[:.]?\s*([A-Z][A-Z '-]{1,40})$"),
            FieldRule("given_names", r"(?im)^\s*(?:given names?|first names?)\s*[:.]?\s*([A-Z][A-Z '-]{1,40})$"),
            FieldRule("birth_date", _BIRTH, ("date",)),
            FieldRule("sex", r"(?i)\b(?:sex|gender)\s*[:.]?\s*([MFX])\b"),
        ),
        priority=0,
    ),
)


def match_templates(text: str, templates: Sequence[CardTemplate] = TEMPLATES) -> CardMatch | None:
    """The highest-priority template whose keywords and required fields (validated) match ``text``."""
    upper = text.upper()
    for template in sorted(templates, key=lambda t: -t.priority):
        if template.keywords and not any(k.upper() in upper for k in template.keywords):
            continue
        match = _apply(template, text)
        if match is not None:
            return match
    return None


def _apply(template: CardTemplate, text: str) -> CardMatch | None:
    fields: dict[str, str] = {}
    failed: list[str] = []
    for rule in template.fields:
        found = re.search(rule.pattern, text)
        if found is None:
            if rule.required:
                return None
            continue
        value = found.group(1).strip()
        ok = True
        for name in rule.validators:
            outcome = VALIDATORS[name](value)
            ok = ok and outcome.ok
            if outcome.ok:
                for key, derived in outcome.derived.items():
                    fields[rule.name + "_iso" if key == "iso" else key] = derived
        if not ok:
            if rule.required:
                return None
            failed.append(rule.name)
            continue
        fields[rule.name] = value
    unconfirmed = tuple(
        rule.name
        for rule in template.fields
        if rule.name == "document_number" and rule.name in fields and not CHECK_DIGITS & set(rule.validators)
    )
    return CardMatch(template.document_type, fields, tuple(failed), unconfirmed)
