"""The CLI starts at once: `openkyc --help` loads no database, model or server module, and
`openkyc compare` loads the face models but nothing of the server (issue 13).

Speed is not asserted (timings vary with the machine); what decides it is: which modules a command
imports. `benchmarks/bench_api.py` prints the start-up times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
SERVER_MODULES = ("sqlalchemy", "fastapi", "uvicorn", "alembic", "openkyc.runtime", "openkyc.api", "faiss")
HEAVY_MODULES = (*SERVER_MODULES, "pydantic_settings", "numpy", "cv2", "onnxruntime", "rapidocr", "markdown_it", "rich")

PROBE = """
import json, sys
args, watch = json.loads(sys.argv[1]), json.loads(sys.argv[2])
from openkyc.cli.main import main
sys.argv = ["openkyc", *args]
try:
    main()
except SystemExit:
    pass
roots = {w.split(".")[0] for w in watch}
sys.stderr.write("\\nLOADED " + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in roots)) + "\\n")
"""


def _loaded(args: list[str], watch: tuple[str, ...]) -> tuple[set[str], str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(list(watch))],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    line = [x for x in done.stderr.splitlines() if x.startswith("LOADED ")][-1]
    modules = set(json.loads(line.removeprefix("LOADED ")))
    hits = {w for w in watch if any(m == w or m.startswith(w + ".") for m in modules)}
    return hits, done.stdout


def test_help_loads_nothing_heavy() -> None:
    hits, out = _loaded(["--help"], HEAVY_MODULES)
    assert "serve" in out and "compare" in out  # the help lists the commands of every module
    assert hits == set()


@pytest.mark.parametrize("command", [["apps", "--help"], ["audit", "--help"], ["accounts", "--help"]])
def test_group_help_loads_nothing_heavy(command: list[str]) -> None:
    hits, out = _loaded(command, HEAVY_MODULES)
    assert "Usage" in out
    assert hits == set()


@pytest.mark.slow
def test_compare_loads_the_models_and_no_server(shared_data: Path) -> None:
    folder = shared_data / "facerec-examples" / "resolution_variants"
    args = ["compare", str(folder / "obama-240p.jpg"), str(folder / "obama-720p.jpg"), "--json"]
    hits, out = _loaded(args, (*SERVER_MODULES, "cv2"))
    assert json.loads(out)["match"] is True  # the command did its work
    assert hits == {"cv2"}  # models, yes; database, web framework, search index, no
