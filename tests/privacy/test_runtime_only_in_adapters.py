"""DESIGN.md section 7: the ``Runtime`` (composition root) is used only by adapters.

Services (privacy, compliance, improvement, biometrics rotation, the retention sweep, ...) receive
the narrow pieces they use (``DataAccess``, the model pool, the settings); the adapters (``api``,
``cli``, ``web``, and the job worker in ``jobs``) build those from the runtime. The walk parses every
module, so an import added inside a function is caught as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import openkyc

PACKAGE = Path(openkyc.__file__).resolve().parent
ADAPTERS = {"api", "cli", "web", "jobs"}


def _imports_runtime(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "openkyc.runtime":
            lines.append(node.lineno)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "openkyc"
            and any(alias.name == "runtime" for alias in node.names)
        ):
            lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(alias.name == "openkyc.runtime" for alias in node.names):
            lines.append(node.lineno)
    return lines


def test_only_adapters_import_the_runtime() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ADAPTERS or relative == Path("runtime.py"):
            continue
        offenders += [f"{relative}:{line}" for line in _imports_runtime(path)]
    assert offenders == [], "services take DataAccess, the model pool or settings, not the Runtime"


def test_the_walk_sees_an_import_of_the_runtime(tmp_path: Path) -> None:
    module = tmp_path / "service.py"
    module.write_text("def f():\n    from openkyc.runtime import Runtime\n    return Runtime\n", encoding="utf-8")
    assert _imports_runtime(module) == [2]
    assert _imports_runtime(PACKAGE / "api" / "deps.py") != []  # an adapter that does use it is seen too
