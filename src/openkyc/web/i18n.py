"""Message catalogs of the hosted verification page, one JSON file per language in ``locales/``.

A rule's ``language`` picks the catalog. Only the languages with a catalog file are translated
(:data:`TRANSLATED`); any other language the rule schema accepts falls back to English, and the
page then says ``lang="en"`` (the language it is really written in). Every catalog has exactly
the English catalog's keys (a test checks it).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

FALLBACK = "en"


@functools.cache
def available() -> frozenset[str]:
    """Languages with a catalog file."""
    folder = resources.files("openkyc.web").joinpath("locales")
    return frozenset(entry.name.removesuffix(".json") for entry in folder.iterdir() if entry.name.endswith(".json"))


@functools.cache
def catalog(language: str) -> dict[str, Any]:
    """The page's strings in ``language``, or in English when it has no catalog."""
    chosen = language if language in available() else FALLBACK
    text = resources.files("openkyc.web").joinpath("locales", f"{chosen}.json").read_text(encoding="utf-8")
    messages: dict[str, Any] = json.loads(text)
    return {**messages, "lang": chosen}
