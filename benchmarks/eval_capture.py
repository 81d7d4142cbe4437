"""The hosted page's auto-capture measures on rendered passports held up to the camera, computed
the page's way with OpenCV (so the thresholds can be chosen without a browser).

    .venv/bin/python benchmarks/eval_capture.py [--seeds 1-8,11] [--blur 6]

For each seed, a TD3 passport rendered by ``tests/documents/render.py`` is placed as the page's
test camera shows it (filling the outline, ``held_up``), sharp and out of focus (Gaussian ``blur``
px on the photo), and the page's sharpness is computed: the variance of the Laplacian in each
quarter of the outline, on a 384 x 288 grey copy of the outline and 5 % around it (``stats`` and
``documentMeasures`` in ``openkyc/web/templates/_verify.js``). Prints one JSON document: per
seed the weakest quarter sharp and blurred, and the ranges; the page takes the photo at 150 or
more. The browser's own figures for seed 11 come from
``pytest -s tests/web/test_hosted_capture_browser.py -k taken_only``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from hosted_screenshots import held_up  # noqa: E402

from documents.render import render_document  # noqa: E402

OUTLINE, MARGIN, PROBE = (0.08, 0.12, 0.84, 0.76), 0.05, (384, 288)
LAPLACIAN = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float32)


def weakest_quarter(frame: np.ndarray) -> float:
    """The page's sharpness: the smallest of the four quarters' variance of the Laplacian."""
    height, width = frame.shape[:2]
    box = (OUTLINE[0] - MARGIN, OUTLINE[1] - MARGIN, OUTLINE[2] + 2 * MARGIN, OUTLINE[3] + 2 * MARGIN)
    crop = frame[
        int(height * box[1]) : int(height * (box[1] + box[3])), int(width * box[0]) : int(width * (box[0] + box[2]))
    ]
    w, h = PROBE
    grey = cv2.cvtColor(cv2.resize(crop, PROBE, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2GRAY)
    x0, x1 = round(w * MARGIN / box[2]), round(w * (MARGIN + OUTLINE[2]) / box[2])
    y0, y1 = round(h * MARGIN / box[3]), round(h * (MARGIN + OUTLINE[3]) / box[3])
    lap = cv2.filter2D(grey.astype(np.float32), -1, LAPLACIAN)[y0:y1, x0:x1]
    mh, mw = lap.shape[0] // 2, lap.shape[1] // 2
    quarters = (lap[:mh, :mw], lap[:mh, mw:], lap[mh:, :mw], lap[mh:, mw:])
    return min(float((q**2).mean()) for q in quarters)


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        out += list(range(int(first), int(last or first) + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-8,11")
    parser.add_argument("--blur", type=float, default=6.0)
    args = parser.parse_args()
    rows = []
    for seed in _seeds(args.seeds):
        photo = render_document(np.random.default_rng(seed), today=date(2026, 11, 30), kind="TD3").image
        sharp = weakest_quarter(held_up(photo))
        blurred = weakest_quarter(held_up(cv2.GaussianBlur(photo, (0, 0), args.blur)))
        rows.append({"seed": seed, "sharp": round(sharp, 1), "blurred": round(blurred, 1)})
    summary = {
        "threshold": 150,
        "sharp_min": min(r["sharp"] for r in rows),
        "blurred_max": max(r["blurred"] for r in rows),
        "seeds": rows,
    }
    print(json.dumps(summary, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
