"""Time per document of the reader on one core (rendered documents, and held-out photos per condition).

    .venv/bin/python benchmarks/bench_documents.py [--n 10] [--threads 1]
    .venv/bin/python benchmarks/bench_documents.py --set heldout --n 3     # per condition

Prints one JSON document: median, p90 and max seconds per document. ``*_s`` is wall time;
``cpu_*_s`` is the process's CPU time (every thread), which is what one document costs one core
and stays meaningful on a machine shared with other jobs (wall time then includes waiting for a core).
``--set tuning`` (default): documents of ``tests/documents/render.py``, with and without the portrait
search. ``--set heldout``: ``benchmarks/heldout_documents.py`` photos (seeds from ``HELDOUT_SEEDS``)
under each condition and strength, without the portrait search.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "documents"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import heldout_documents as heldout  # noqa: E402
from render import render_document  # noqa: E402

from openkyc.documents.reader import DocumentReader  # noqa: E402

TODAY = date(2026, 6, 1)


def _time(reader: DocumentReader, images: list[np.ndarray]) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each read."""
    walls, cpus = [], []
    for image in images:
        start, cpu = time.perf_counter(), time.process_time()
        reader.read(image, today=TODAY)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def _summary(walls: list[float], cpus: list[float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for prefix, times in (("", walls), ("cpu_", cpus)):
        out[f"{prefix}median_s"] = round(statistics.median(times), 3)
        out[f"{prefix}p90_s"] = round(sorted(times)[int(0.9 * (len(times) - 1))], 3)
        out[f"{prefix}max_s"] = round(max(times), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("tuning", "heldout"), default="tuning")
    parser.add_argument("--n", type=int, default=10, help="documents (per condition with --set heldout)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    report: dict[str, Any] = {"set": args.set, "documents": args.n, "threads": args.threads}
    if args.set == "heldout":
        reader = DocumentReader.default(num_threads=args.threads, portrait=False)
        first = heldout.make_document(heldout.HELDOUT_SEEDS.start, "mild", "mild", today=TODAY)
        reader.read(first.image, today=TODAY)  # warm-up
        rows = []
        for condition in heldout.CONDITIONS:
            for strength in heldout.STRENGTHS:
                if condition == "mild" and strength == "strong":
                    continue
                seeds = range(heldout.HELDOUT_SEEDS.start, heldout.HELDOUT_SEEDS.start + args.n)
                images = [heldout.make_document(s, condition, strength, today=TODAY).image for s in seeds]
                rows.append({"condition": condition, "strength": strength, **_summary(*_time(reader, images))})
                sys.stderr.write(json.dumps(rows[-1]) + "\n")
        report["rows"] = rows
    else:
        rng = np.random.default_rng(3)
        images = [render_document(rng, today=TODAY).image for _ in range(args.n)]
        for label, portrait in (("ocr_only", False), ("with_portrait", True)):
            reader = DocumentReader.default(num_threads=args.threads, portrait=portrait)
            reader.read(images[0], today=TODAY)  # warm-up
            report[label] = _summary(*_time(reader, images))
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
