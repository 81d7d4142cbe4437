"""The 1:N scan is as fast in a later process as in the first one (issue 13).

The numba kernel this project used before ran 6x slower in every process that loaded it from
numba's on-disk cache than in the process that compiled it. A benchmark-style ratio check, not a
timing assertion: each process measures its scan against its own read floor (``np.sum`` over the
same codes, same moment), and the two processes' ratios are compared with each other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

PROBE = """
import json, time
import numpy as np
from openkyc.biometrics.index import TemplateIndex
from openkyc.biometrics.templates import FaceTemplate

n = 200_000
codes = np.random.default_rng(7).integers(0, 256, size=(n, 128), dtype=np.uint8)
index = TemplateIndex("t", 1024)
index.add_codes(np.arange(n, dtype=np.int64), codes)
query = FaceTemplate("t", 1024, codes[n // 2].tobytes())
words = codes.view(np.uint64)

def best(fn, repeat=9):
    out = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - start)
    return out

start = time.perf_counter()
first = index.search(query, 10)
first_s = time.perf_counter() - start
assert first[0].id == n // 2
ratios = []
for _ in range(3):  # interleaved, so both sides see the same machine load
    ratios.append(best(lambda: index.search(query, 10)) / best(lambda: words.sum()))
print(json.dumps({"ratio": min(ratios), "first_over_floor": first_s / best(lambda: words.sum())}))
"""


def _run() -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_later_process_scans_as_fast_as_the_first() -> None:
    first, later, tenth = _run(), _run(), _run()
    # same machine code in every process: the ratios agree within measurement noise (the old
    # kernel's cached copy was 6x off)
    for other in (later, tenth):
        assert other["ratio"] < 2.0 * first["ratio"], (first, other)
        assert first["ratio"] < 2.0 * other["ratio"], (first, other)
    # and no process pays a compilation on its first search (the old first search took seconds)
    assert all(r["first_over_floor"] < 20 * r["ratio"] for r in (first, later, tenth)), (first, later, tenth)
