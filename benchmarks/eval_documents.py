"""Accuracy of the document reader on rendered documents (tests/documents/render.py).

    .venv/bin/python benchmarks/eval_documents.py --n 100 [--seed 7] [--threads 1]

Prints one JSON document: share of documents whose MRZ lines are all exact, share with every
field exact, share reported ``valid``, and the count of documents reported valid with a wrong line
(must be 0).

With ``--wrong-check-digit`` every document is printed with one check digit changed (the
document number's, the birth date's or the expiry date's): then ``valid`` must be 0 and
``lines_exact`` is the share read with the wrong digit as printed.
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

import render  # noqa: E402
from render import RenderedDocument, render_document  # noqa: E402

from openkyc.documents.reader import DocumentReader  # noqa: E402

TODAY = date(2026, 6, 1)


def render_wrong(rng: np.random.Generator) -> RenderedDocument:
    """A TD3 or TD1 document printed with one check digit off by one (the truth is the misprint)."""
    kind = str(rng.choice(["TD3", "TD1"]))
    person = render.random_identity(rng, TODAY)
    lines = render.td1_lines(person) if kind == "TD1" else render.td3_lines(person)
    # (line, position) of the document number, birth date and expiry date check digits
    spots = [(0, 14), (1, 6), (1, 14)] if kind == "TD1" else [(1, 9), (1, 19), (1, 27)]
    row, pos = spots[int(rng.integers(len(spots)))]
    digit = (int(lines[row][pos]) + 1) % 10
    lines[row] = lines[row][:pos] + str(digit) + lines[row][pos + 1 :]
    image, jpeg = render._photograph(render._draw_document(lines, person, kind == "TD1", None, rng), rng)
    return RenderedDocument(image, jpeg, kind, lines, person)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wrong-check-digit", action="store_true")
    args = parser.parse_args()
    reader = DocumentReader.default(num_threads=args.threads, portrait=False)
    rng = np.random.default_rng(args.seed)
    exact = fields_exact = valid = valid_wrong = found = 0
    failures = []
    elapsed = 0.0
    for i in range(args.n):
        doc = render_wrong(rng) if args.wrong_check_digit else render_document(rng, today=TODAY)
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
        "wrong_check_digit": args.wrong_check_digit,
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
