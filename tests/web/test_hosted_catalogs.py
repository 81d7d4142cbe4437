"""The hosted page's catalogs are complete and the templates hold no text of their own.

* every catalog has exactly the English keys (nested ones too), with the same ``{placeholders}``;
* no message is left untranslated (equal to the English one), and none is empty;
* the templates' text nodes and human-readable attributes are all catalog look-ups, and the page
  script writes only catalog strings (no quoted prose in it);
* the ``dir`` attribute comes from the catalog (right-to-left ready).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import pytest

from openkyc.web.i18n import LANGUAGES, available, catalog
from openkyc.web.pages import _templates

PLACEHOLDER = re.compile(r"\{(\w+)\}")
# messages that are the same in English and another language by nature (none so far)
SAME_AS_ENGLISH: set[tuple[str, str]] = set()
READABLE_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "value"}


def _flat(messages: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in messages.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_every_language_of_the_issue_has_a_catalog() -> None:
    assert set(LANGUAGES) == available()


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_catalog_is_complete_and_translated(language: str) -> None:
    english = _flat(catalog("en"))
    strings = _flat(catalog(language))
    assert set(strings) == set(english), set(strings) ^ set(english)
    untranslated = [
        key
        for key, text in strings.items()
        if key not in {"dir", "lang"} and text == english[key] and (language, key) not in SAME_AS_ENGLISH
    ]
    assert not untranslated, f"{language}: untranslated {untranslated}"
    for key, text in strings.items():
        assert text.strip(), f"{language}: {key} is empty"
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), f"{language}: {key}"
    assert strings["dir"] in {"ltr", "rtl"}


class _TextFinder(HTMLParser):
    """Text nodes and readable attributes of a template with its Jinja parts removed."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.found: list[str] = []
        self.script: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        for name, value in attrs:
            if name in READABLE_ATTRIBUTES and value and re.search(r"[^\W\d_]", value):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script":
            self.script.append(data)
        elif self.stack and self.stack[-1] == "style":
            return
        elif re.search(r"[^\W\d_]", data):
            self.found.append(data.strip())


MARK = "\u2063"  # an invisible separator around every catalog string in the rendered page


def _marked(messages: dict[str, Any]) -> dict[str, Any]:
    return {key: _marked(value) if isinstance(value, dict) else f"{MARK}{key}{MARK}" for key, value in messages.items()}


CONTEXT: dict[str, Any] = {
    "biz_token": "tok",
    "open": True,
    "state": "created",
    "check_mode": "document+liveness+compare",
    "steps": ["notice", "document", "selfie", "done"],
    "mode": "reflection",
    "rule_mode": "reflection",
    "silent_allowed": True,
    "actions": [],
    "seconds": 6,
    "challenge": True,
    "attempts_left": 4,
    "consented": False,
    "notice": [{"item": "document_image", "hours": 2.0}, {"item": "face_video", "hours": 2.0}],
    "operator": "Acme",
    "operator_name": "Acme",
    "logo_url": "https://cdn.example/logo.png",
    "theme_color": "#1f6feb",
    "privacy_notice_url": "https://example.com/privacy",
    "reason": "unknown",
}


@pytest.mark.parametrize("name", ["verify.html", "link.html"])
def test_templates_hold_no_text_of_their_own(name: str) -> None:
    """Rendered with every catalog string marked: what is left of the text is only marks,
    punctuation and the operator's own name."""
    strings = _marked({key: value for key, value in catalog("en").items() if key not in {"lang", "dir"}})
    html = _templates.get_template(name).render(**CONTEXT, t={**strings, "lang": "en", "dir": "ltr"}, nonce="n")
    finder = _TextFinder()
    finder.feed(re.sub(f"{MARK}\\w+{MARK}", "", html).replace("Acme", ""))
    assert finder.found == [], f"{name}: text outside the catalogs: {finder.found}"
    script = "".join(finder.script)
    # string literals in the script: identifiers, selectors, MIME types and codes only, never prose
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"', script) + re.findall(r"`((?:[^`\\]|\\.)*)`", script)
    prose = [text for text in literals if re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", text)]
    assert prose == [], f"{name}: prose in the page script: {prose}"


def test_every_template_is_checked() -> None:
    names = {entry.name for entry in resources.files("openkyc.web").joinpath("templates").iterdir()}
    assert {name for name in names if name.endswith(".html") and not name.startswith("_")} == {
        "verify.html",
        "link.html",
    }


def test_the_page_direction_comes_from_the_catalog() -> None:
    source = resources.files("openkyc.web").joinpath("templates", "_layout.html").read_text(encoding="utf-8")
    assert '<html lang="{{ t.lang }}" dir="{{ t.dir }}">' in source
    assert "margin-left" not in source and "padding-left" not in source  # logical properties only
