"""Message catalogs of the hosted verification page, one JSON file per language in ``locales/``.

Catalogs: English, Simplified and Traditional Chinese, Thai, Indonesian, Malay, Vietnamese,
Japanese, Korean and Arabic (right to left) (:data:`LANGUAGES`). Every catalog has exactly the English catalog's keys and
the same ``{placeholders}`` in each message, and no message is left in English (tests check all
three, and that the templates hold no text of their own). Each catalog names its script's
direction (``dir``), which the page puts on ``<html>``.

The language is chosen by :func:`choose`: the session's, else the rule's, else the best match of
the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

FALLBACK = "en"
LANGUAGES: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant", "th", "id", "ms", "vi", "ja", "ko", "ar")
# Chinese tags by script or by region (BCP 47); other tags match on their primary subtag.
_TRADITIONAL = {"zh-hant", "zh-tw", "zh-hk", "zh-mo"}


@functools.cache
def available() -> frozenset[str]:
    """Languages with a catalog file."""
    folder = resources.files("openkyc.web").joinpath("locales")
    return frozenset(entry.name.removesuffix(".json") for entry in folder.iterdir() if entry.name.endswith(".json"))


def match(tag: str | None) -> str | None:
    """The catalog for one BCP 47 tag (``zh-TW`` → ``zh-Hant``, ``th-TH`` → ``th``), or ``None``."""
    if not tag:
        return None
    lowered = tag.strip().lower().replace("_", "-")
    parts = lowered.split("-")
    if parts[0] == "zh":
        # zh, zh-Hans, zh-CN, zh-SG and unknown regions: Simplified; zh-Hant, zh-TW, zh-HK, zh-MO: Traditional
        return "zh-Hant" if "-".join(parts[:2]) in _TRADITIONAL else "zh-Hans"
    if parts[0] == "in":  # the old code for Indonesian, still sent by some Android browsers
        parts[0] = "id"
    return parts[0] if parts[0] in available() else None


def from_accept_language(header: str | None) -> str | None:
    """The best catalog for an ``Accept-Language`` header (quality values honoured), or ``None``."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        chosen = match(tag)
        if chosen:
            return chosen
    return None


def choose(session_language: str | None, rule_language: str | None, accept_language: str | None) -> str:
    """The page's language: the session's, the rule's, the browser's, or English."""
    return match(session_language) or match(rule_language) or from_accept_language(accept_language) or FALLBACK


@functools.cache
def catalog(language: str) -> dict[str, Any]:
    """The page's strings in ``language`` (any tag :func:`match` knows), or in English."""
    chosen = match(language) or FALLBACK
    text = resources.files("openkyc.web").joinpath("locales", f"{chosen}.json").read_text(encoding="utf-8")
    messages: dict[str, Any] = json.loads(text)
    return {**messages, "lang": chosen}
