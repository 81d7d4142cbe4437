"""Every ``OPENKYC_*`` setting in docs/settings.md exists, and code outside settings.py reads it.

A documented setting that nothing reads (the way ``OPENKYC_REDIS_URL`` once was) fails here, as does
a documented variable that is not a field of :class:`openkyc.settings.Settings`. Reading is found
in the source itself: an attribute access ``.name`` in any module of ``src/openkyc`` other than
settings.py, or a property of ``Settings`` that uses the field and is itself read elsewhere
(``resolved_database_url`` reads ``database_url``).
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from openkyc.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "openkyc"
SETTINGS_MD = ROOT / "docs" / "settings.md"


def documented() -> list[str]:
    """The variables of the settings table (first column)."""
    names = re.findall(r"^\| `OPENKYC_([A-Z0-9_]+)` \|", SETTINGS_MD.read_text(), flags=re.MULTILINE)
    return sorted(name.lower() for name in names)


def _attributes(tree: ast.AST) -> set[str]:
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


@functools.cache
def read_outside_settings() -> frozenset[str]:
    """Attribute names read by the package outside settings.py, plus fields read by the properties
    that are read there and by the validators (which run on every ``Settings``)."""
    seen: set[str] = set()
    for path in SRC.rglob("*.py"):
        if path.name == "settings.py" and path.parent == SRC:
            continue
        seen |= _attributes(ast.parse(path.read_text(), filename=str(path)))
    settings_tree = ast.parse((SRC / "settings.py").read_text())
    for node in ast.walk(settings_tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = {_name(d) for d in node.decorator_list}
        if ("property" in decorators and node.name in seen) or decorators & {"model_validator"}:
            seen |= {a for a in _attributes(node) if a in Settings.model_fields}
    return frozenset(seen)


def _name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.id if isinstance(target, ast.Name) else ""


def test_the_docs_table_lists_exactly_the_settings() -> None:
    assert documented() == sorted(Settings.model_fields)


@pytest.mark.parametrize("name", documented())
def test_every_documented_setting_is_read_by_code(name: str) -> None:
    assert name in read_outside_settings(), f"OPENKYC_{name.upper()} is documented but nothing reads it"


def test_the_walk_notices_an_unread_setting() -> None:
    """The check itself can fail: a name no module reads is not found."""
    assert "surely_not_a_setting_anyone_reads" not in read_outside_settings()
