"""The 1:N scan is as fast in a later process as in the first one (issue 13), from its first search.

The numba kernel this project used before ran 6x slower in every process that loaded it from
numba's on-disk cache than in the process that compiled it. A benchmark-style ratio check, not a
timing assertion: each process measures its scan against its own read floor (``np.sum`` over the
same codes, same moment), and the two processes' ratios are compared with each other. Times are
the calling thread's CPU time (one search thread, faiss's OpenMP set to one: the scan runs in the
caller), so waiting for a core on a loaded machine does not count; a compilation would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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
        start = time.thread_time()
        fn()
        out = min(out, time.thread_time() - start)
    return out

start = time.thread_time()
first = index.search(query, 10)
first_s = time.thread_time() - start
assert first[0].id == n // 2
ratios = []
for _ in range(5):  # interleaved, so both sides see the same machine load
    ratios.append(best(lambda: index.search(query, 10)) / best(lambda: words.sum()))
import sys
jit = sorted(m for m in ("numba", "llvmlite") if m in sys.modules)
floor = best(lambda: words.sum())
print(json.dumps({"ratio": min(ratios), "first_over_floor": first_s / floor, "first_s": first_s, "jit": jit}))
"""


def _run() -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_later_process_scans_as_fast_as_the_first() -> None:
    first, later, tenth = _run(), _run(), _run()
    # same machine code in every process: the ratios agree within measurement noise (the old
    # kernel's cached copy was 6x off; 3x leaves room for a machine loaded by other work)
    for other in (later, tenth):
        assert other["ratio"] < 3.0 * first["ratio"], (first, other)
        assert first["ratio"] < 3.0 * other["ratio"], (first, other)
    # and no process pays a compilation on its first search (the old first search took seconds):
    # nothing is compiled at run time (no JIT module is even imported), and the first search of a
    # later process is of the same order as the first process's (generous: one sample each, on a
    # shared machine; the old kernel's first search was about 2,000 times its later ones)
    assert all(r["jit"] == [] for r in (first, later, tenth)), (first, later, tenth)
    assert all(r["first_over_floor"] < 20 * r["ratio"] for r in (first, later, tenth)), (first, later, tenth)
    for other in (later, tenth):
        assert other["first_s"] < 10 * first["first_s"] + 0.05 and first["first_s"] < 10 * other["first_s"] + 0.05
