"""How often check-digit-guided correction turns a wrong reading into a passing one (no OCR: pure text).

    .venv/bin/python benchmarks/eval_corrections.py [--n 20000] [--seed 5]

MRZs come from the held-out generator (``benchmarks/heldout_documents.py``: TD3, TD2, TD1). Each
is misread on purpose in one of two ways, and corrected with :func:`guided_corrections` in its
*worst case*: every look-alike may be tried everywhere (in the reader, only look-alikes the
recogniser itself gave some probability are tried, which can only lower these rates):

- ``lookalike``: 1 to 3 characters of the document number or optional data replaced by a
  look-alike (``0/O/D/Q``, ``1/I``, ``2/Z``, ``5/S``, ``8/B``), the errors correction is for;
- ``random``: 1 or 2 characters anywhere under a check digit replaced by any other MRZ character.

and corrected under three models of the recogniser's evidence (which look-alikes may be tried):
``everywhere`` (every look-alike at every place: the text-only worst case, which the reader never
uses), ``q=0.2`` and ``q=0.05`` (the look-alikes at the misread places, plus those of that share of
the other places, as a recogniser that is unsure there too).

Printed as JSON, per kind: ``passes_as_read`` (the wrong reading already passes every check),
``corrected_right`` (correction gives back the true lines), ``passes_wrong_after`` (after correction
every check passes but the lines are wrong: a wrong reading that would be called valid by the check
digits alone).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import heldout_documents as heldout

from openkyc.documents.mrz import _checks
from openkyc.documents.mrzcorrect import ALTERNATIVES, checked_positions, guided_corrections
from openkyc.documents.mrzlayout import FORMATS, detect_format

TODAY = date(2026, 6, 1)
MRZ_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"


def _passes(lines: list[str], fmt: str) -> bool:
    return all(c.ok for c in _checks(lines, FORMATS[fmt])[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    models = {"everywhere": None, "q=0.2": 0.2, "q=0.05": 0.05}
    counts = {
        f"{kind}/{model}": {"readings": 0, "passes_as_read": 0, "corrected_right": 0, "passes_wrong_after": 0}
        for kind in ("lookalike", "random")
        for model in models
    }
    for _ in range(args.n):
        kind_doc = str(rng.choice(["TD3", "TD1", "TD2"]))
        truth = heldout.mrz_lines(kind_doc, heldout.identity(rng, TODAY))
        fmt = detect_format(truth)
        assert fmt is not None
        layout = FORMATS[fmt]
        covered = sorted(checked_positions(layout))
        alnum = [
            (spec.line, i)
            for spec in layout.fields
            if spec.char_class == "X"
            for i in range(spec.start, spec.end)
            if (spec.line, i) in covered and truth[spec.line][i] in ALTERNATIVES
        ]
        for kind in ("lookalike", "random"):
            lines = [list(line) for line in truth]
            misread: set[tuple[int, int]] = set()
            if kind == "lookalike":
                if not alnum:
                    continue
                k = int(rng.integers(1, min(3, len(alnum)) + 1))
                for idx in rng.choice(len(alnum), size=k, replace=False):
                    line, i = alnum[int(idx)]
                    lines[line][i] = str(rng.choice(list(ALTERNATIVES[truth[line][i]])))
                    misread.add((line, i))
            else:
                k = int(rng.integers(1, 3))
                for idx in rng.choice(len(covered), size=k, replace=False):
                    line, i = covered[int(idx)]
                    lines[line][i] = str(rng.choice([c for c in MRZ_CHARS if c != truth[line][i]]))
                    misread.add((line, i))
            reading = ["".join(chars) for chars in lines]
            unsure = {spot: rng.random() for spot in covered}
            for model, q in models.items():
                allowed = None
                if q is not None:
                    plausible = misread | {spot for spot, r in unsure.items() if r < q}
                    allowed = lambda line, i, c, p=plausible: (line, i) in p  # noqa: E731
                tally = counts[f"{kind}/{model}"]
                tally["readings"] += 1
                tally["passes_as_read"] += _passes(reading, fmt)
                fixed, _ = guided_corrections(reading, layout, lambda c, f=fmt: _passes(c, f), allowed)
                tally["corrected_right"] += fixed == truth
                tally["passes_wrong_after"] += fixed != truth and _passes(fixed, fmt)
    report = {
        kind: {**c, **{f"{k}_rate": round(v / max(c["readings"], 1), 4) for k, v in c.items() if k != "readings"}}
        for kind, c in counts.items()
    }
    sys.stdout.write(json.dumps({"seed": args.seed, "documents": args.n, **report}) + "\n")


if __name__ == "__main__":
    main()
