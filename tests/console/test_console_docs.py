"""docs/console.md's permission table is the one the code checks (openkyc.accounts.roles)."""

from __future__ import annotations

import re
from pathlib import Path

from openkyc.accounts.roles import PERMISSIONS, Permission

DOC = Path(__file__).resolve().parents[2] / "docs" / "console.md"


def test_the_documented_permission_table_is_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    header = re.search(r"^\| permission \|(.+)\|$", text, re.M)
    assert header is not None
    roles = [cell.strip() for cell in header.group(1).split("|")]
    assert set(roles) == set(PERMISSIONS)
    documented: dict[str, set[str]] = {role: set() for role in roles}
    seen = set()
    for line in re.findall(r"^\| `([a-z_]+)`[^|]*\|(.+)\|$", text, re.M):
        name, cells = line
        seen.add(name)
        for role, cell in zip(roles, cells.split("|"), strict=True):
            assert cell.strip() in {"yes", "no"}
            if cell.strip() == "yes":
                documented[role].add(name)
    assert seen == {p.value for p in Permission}
    assert documented == {role: {p.value for p in perms} for role, perms in PERMISSIONS.items()}
