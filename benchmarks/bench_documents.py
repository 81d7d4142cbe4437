"""Time per document of the reader on one core (rendered TD3 and TD1 documents, and the specimens).

    .venv/bin/python benchmarks/bench_documents.py [--n 10] [--threads 1]

Prints one JSON document: median and p90 seconds per document, with and without the portrait search.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "documents"))

from render import render_document  # noqa: E402

from openkyc.documents.reader import DocumentReader  # noqa: E402

TODAY = date(2026, 6, 1)


def _time(reader: DocumentReader, images: list[np.ndarray]) -> list[float]:
    reader.read(images[0], today=TODAY)  # warm-up
    times = []
    for image in images:
        start = time.perf_counter()
        reader.read(image, today=TODAY)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    images = [render_document(rng, today=TODAY).image for _ in range(args.n)]
    report: dict[str, object] = {"documents": args.n, "threads": args.threads}
    for label, portrait in (("ocr_only", False), ("with_portrait", True)):
        times = _time(DocumentReader.default(num_threads=args.threads, portrait=portrait), images)
        report[label] = {
            "median_s": round(statistics.median(times), 3),
            "p90_s": round(sorted(times)[int(0.9 * (len(times) - 1))], 3),
            "max_s": round(max(times), 3),
        }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
