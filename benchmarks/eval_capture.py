"""The hosted page's auto-capture measures on rendered passports held up to the camera, computed
the page's way with OpenCV (so the thresholds can be chosen without a browser).

    .venv/bin/python benchmarks/eval_capture.py [--seeds 1-20] [--blur 6]

For each seed, a TD3 passport rendered by ``tests/documents/render.py`` is placed as the page's
test camera shows it (filling the outline, ``held_up``), sharp and out of focus (Gaussian ``blur``
px on the photo), and the page's measures are computed on a 384 x 288 grey copy of the outline and
5 % around it (``stats`` and ``documentMeasures`` in ``openkyc/web/templates/_verify.js``): the
variance of the Laplacian in each quarter of the outline, and for each border of the outline the
share of positions with a Sobel gradient above 80 across it, from 3 px outside to 12 % inside.
Also the sharp photo at half the size (it does not fill the outline). Prints one JSON document:
per seed the weakest quarter (sharp and blurred) and the third best border (filling and half
size), the ranges, and how many would be taken; the page takes the photo at a sharpness of 150
and edges of 0.5 or more. The browser's own figures for seed 11 come from
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
EDGE = 80
LAPLACIAN = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float32)


def measures(frame: np.ndarray) -> tuple[float, float]:
    """The page's sharpness (the smallest of the four quarters' variance of the Laplacian) and
    edges (the share of the third best border of the outline with an edge above 80 near it)."""
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
    gx = np.abs(cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, 0, 1, ksize=3))
    inside, outside = round(0.12 * min(x1 - x0, y1 - y0)), 3
    borders = [
        (gy[max(1, y0 - outside) : y0 + inside, x0 + 1 : x1 - 1].max(0) > EDGE).mean(),
        (gy[y1 - inside : y1 + outside, x0 + 1 : x1 - 1].max(0) > EDGE).mean(),
        (gx[y0 + 1 : y1 - 1, max(1, x0 - outside) : x0 + inside].max(1) > EDGE).mean(),
        (gx[y0 + 1 : y1 - 1, x1 - inside : x1 + outside].max(1) > EDGE).mean(),
    ]
    return min(float((q**2).mean()) for q in quarters), float(sorted(borders, reverse=True)[2])


def half_size(frame: np.ndarray) -> np.ndarray:
    """The same frame's content at half the size, in the middle of an empty desk."""
    half = cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    out = np.full_like(frame, 90)
    top, left = (frame.shape[0] - half.shape[0]) // 2, (frame.shape[1] - half.shape[1]) // 2
    out[top : top + half.shape[0], left : left + half.shape[1]] = half
    return out


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        out += list(range(int(first), int(last or first) + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-20")
    parser.add_argument("--blur", type=float, default=6.0)
    args = parser.parse_args()
    rows = []
    for seed in _seeds(args.seeds):
        photo = render_document(np.random.default_rng(seed), today=date(2026, 11, 30), kind="TD3").image
        sharp, edges = measures(held_up(photo))
        blurred, _ = measures(held_up(cv2.GaussianBlur(photo, (0, 0), args.blur)))
        _, small = measures(half_size(held_up(photo)))
        rows.append(
            {
                "seed": seed,
                "sharp": round(sharp, 1),
                "blurred": round(blurred, 1),
                "edges": round(edges, 2),
                "small_edges": round(small, 2),
            }
        )
    summary = {
        "thresholds": {"sharp": 150, "edges": 0.5},
        "sharp_min": min(r["sharp"] for r in rows),
        "blurred_max": max(r["blurred"] for r in rows),
        "edges_min": min(r["edges"] for r in rows),
        "small_edges_max": max(r["small_edges"] for r in rows),
        "taken": sum(r["sharp"] >= 150 and r["edges"] >= 0.5 for r in rows),
        "blurred_taken": sum(r["blurred"] >= 150 for r in rows),
        "small_taken": sum(r["small_edges"] >= 0.5 for r in rows),
        "seeds": rows,
    }
    print(json.dumps(summary, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
