"""Accuracy of the document reader on rendered documents (tests/documents/render.py).

    .venv/bin/python benchmarks/eval_documents.py --n 100 [--seed 7] [--threads 1]

Prints one JSON document: share of documents whose MRZ lines are all exact, share with every
field exact, share reported ``valid``, and the count of documents reported valid with a wrong line
(must be 0).
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    reader = DocumentReader.default(num_threads=args.threads, portrait=False)
    rng = np.random.default_rng(args.seed)
    exact = fields_exact = valid = valid_wrong = found = 0
    failures = []
    elapsed = 0.0
    for i in range(args.n):
        doc = render_document(rng, today=TODAY)
        start = time.perf_counter()
        result = reader.read(doc.image, today=TODAY)
        elapsed += time.perf_counter() - start
        mrz = result.mrz
        lines_ok = mrz is not None and list(mrz.lines) == doc.lines
        found += mrz is not None
        exact += lines_ok
        if mrz is not None:
            f = mrz.fields
            want = {
                "document_number": doc.fields["document_number"],
                "surname": doc.fields["surname"].replace("<", " "),
                "given_names": doc.fields["given_names"].replace("<", " "),
                "nationality": doc.fields["nationality"],
                "birth_date": doc.fields["birth_date"],
                "expiry_date": doc.fields["expiry_date"],
            }
            got = dict(f)
            got["birth_date"] = got["birth_date"][2:].replace("-", "")
            got["expiry_date"] = got["expiry_date"][2:].replace("-", "")
            fields_exact += all(got.get(k) == v for k, v in want.items())
            valid += mrz.valid
            valid_wrong += mrz.valid and not lines_ok
        if not lines_ok:
            failures.append(
                {"index": i, "format": doc.mrz_format, "found": mrz is not None, "valid": bool(mrz and mrz.valid)}
            )
    n = max(args.n, 1)
    report = {
        "documents": args.n,
        "seed": args.seed,
        "mrz_found": found / n,
        "lines_exact": exact / n,
        "fields_exact": fields_exact / n,
        "valid": valid / n,
        "valid_with_wrong_line": valid_wrong,
        "seconds_per_document": round(elapsed / n, 3),
        "failures": failures[:20],
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
