"""Document warnings measured on positive and negative examples: detection and false-positive rates.

    .venv/bin/python benchmarks/eval_warnings.py [--n 20]

Negatives: the ICAO specimens (``../shared/data/mrz-specimens``), documents of the tuning renderer
(``tests/documents/render.py``) and of the held-out generator (``benchmarks/heldout_documents.py``,
seeds from ``HELDOUT_SEEDS``) photographed under the ``mild`` and ``perspective`` conditions. Each
negative is also the source of one positive per warning, made the way the defect arises:

| warning | positive |
|---|---|
| ``WarnGlare`` | the held-out ``glare`` condition (mild and strong) |
| ``WarnBlurred`` | Gaussian blur, sigma 3 |
| ``WarnTooDark`` | the held-out ``lowlight`` condition, strong |
| ``WarnBlackWhiteCopy`` | grey, contrast stretched, paper-white background (a photocopy) |
| ``WarnScreenCapture`` | the photo shown on a screen and photographed: RGB subpixel grid and moire |
| ``WarnIncomplete`` | the photo cropped through the MRZ's side (text touches the border) |

For each warning: ``detected`` (share of its positives that raise it) and ``false_positive`` (share
of the negatives that raise it), with the ICAO specimens counted apart (must be 0). Printed as JSON.

``WarnTamperingHint`` is raised by the whole reader from what it read, so it is measured apart
(``--tampering N``, 0 to skip; ``--only-tampering`` skips the others): positives are held-out
documents (``mild``) whose visual zone was edited (one or two characters of the printed document
number, or of the surname) while the MRZ carries the issued value; negatives are the same documents
unedited and the ICAO specimens, read by ``DocumentReader``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "documents"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import heldout_documents as heldout  # noqa: E402
import render  # noqa: E402

from openkyc.documents.ocr import RapidTextRecognizer, TextLine  # noqa: E402
from openkyc.documents.quality import ALL_WARNINGS, WARN_TAMPERING, document_warnings  # noqa: E402
from openkyc.documents.reader import DocumentReader  # noqa: E402

TODAY = date(2026, 6, 1)


def photocopy(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    stretched = np.clip((grey - 60) * 1.6, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(stretched, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def screen_capture(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shown on an RGB-stripe screen (pitch 3 px) and photographed slightly off-axis: moire."""
    h, w = image.shape[:2]
    up = cv2.resize(image, (w * 3 // 2, h * 3 // 2), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    mask = np.zeros_like(up)
    for c in range(3):
        mask[:, (2 - c) :: 3, c] = 1.0
    mask[::3, :, :] *= 0.6  # row gaps between pixels
    shown = up * (0.35 + 0.65 * mask)
    angle = float(rng.uniform(1.5, 4.0))
    matrix = cv2.getRotationMatrix2D((shown.shape[1] / 2, shown.shape[0] / 2), angle, 1.0)
    shown = cv2.warpAffine(shown, matrix, (shown.shape[1], shown.shape[0]), borderMode=cv2.BORDER_REFLECT)
    small = cv2.resize(shown, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(small * 1.25, 0, 255).astype(np.uint8)


def edited(text: str, rng: np.random.Generator) -> str:
    """``text`` with one or two characters replaced by others of the same kind (digit or letter)."""
    chars = list(text)
    places = [i for i, c in enumerate(chars) if c.isalnum()]
    for i in rng.choice(places, size=min(len(places), int(rng.integers(1, 3))), replace=False):
        pool = "0123456789" if chars[i].isdigit() else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        chars[i] = str(rng.choice([c for c in pool if c != chars[i]]))
    return "".join(chars)


def tampering(n: int, seed_start: int, specimens: list[np.ndarray]) -> dict[str, Any]:
    """``WarnTamperingHint`` on held-out documents with an edited visual zone, and on clean ones."""
    reader = DocumentReader.default(portrait=False)
    hits = false_hits = 0
    for i in range(n):
        rng = np.random.default_rng([seed_start + i, 99])
        kind = str(rng.choice(["TD3", "TD1", "TD2"]))
        person = heldout.identity(rng, TODAY)
        lines = heldout.mrz_lines(kind, person)
        field = "document_number" if i % 2 == 0 else "surname"
        forged = {**person, field: edited(person[field], rng)}
        for viz, positive in ((forged, True), (person, False)):
            page_rng = np.random.default_rng([seed_start + i, 98])  # the same page and photo but the edit
            page = heldout.draw_page(kind, lines, viz, page_rng)
            image, _ = heldout.photograph(page, "mild", "mild", page_rng)
            raised = WARN_TAMPERING in reader.read(image, today=TODAY).warnings
            hits += raised and positive
            false_hits += raised and not positive
    on_specimens = sum(WARN_TAMPERING in reader.read(im, today=TODAY).warnings for im in specimens)
    return {
        "positives": n,
        "detected": round(hits / max(n, 1), 3),
        "false_positive": round(false_hits / max(n, 1), 3),
        "false_positive_icao_specimens": on_specimens,
    }


def text_boxes(reader: RapidTextRecognizer, image: np.ndarray) -> list[tuple[float, float, float, float]]:
    out = []
    for quad in reader.detect_lines(image):
        line = TextLine("", quad, 0.0)
        xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
        out.append((min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="documents per source")
    parser.add_argument("--seed-start", type=int, default=heldout.HELDOUT_SEEDS.start + 70_000)
    parser.add_argument("--tampering", type=int, default=4, help="documents for WarnTamperingHint (0: skip)")
    parser.add_argument("--only-tampering", action="store_true")
    parser.add_argument("--specimens", type=Path, default=ROOT.parent / "shared" / "data" / "mrz-specimens")
    args = parser.parse_args()
    detector = RapidTextRecognizer()
    rng = np.random.default_rng(17)
    negatives: list[tuple[str, np.ndarray]] = []
    specimens: list[np.ndarray] = []
    if args.specimens.is_dir():
        for item in json.loads((args.specimens / "ground_truth.json").read_text()):
            image = cv2.imread(str(args.specimens / item["image"]))
            if image is not None:
                specimens.append(image)
    report: dict[str, Any] = {"warnings": {}, "icao_specimens": len(specimens)}
    if args.tampering:
        report["warnings"][WARN_TAMPERING] = tampering(args.tampering, args.seed_start, specimens)
    if args.only_tampering:
        sys.stdout.write(json.dumps(report) + "\n")
        return
    for _ in range(args.n):
        negatives.append(("tuning", render.render_document(rng, today=TODAY).image))
    for i in range(args.n):
        for condition in ("mild", "perspective"):
            doc = heldout.make_document(args.seed_start + i, condition, "mild", today=TODAY)
            negatives.append((condition, doc.image))
    positives: dict[str, list[np.ndarray]] = {w: [] for w in ALL_WARNINGS}
    for i in range(args.n):
        for strength in ("mild", "strong"):
            positives["WarnGlare"].append(
                heldout.make_document(args.seed_start + i, "glare", strength, today=TODAY).image
            )
        positives["WarnTooDark"].append(
            heldout.make_document(args.seed_start + i, "lowlight", "strong", today=TODAY).image
        )
    for _, image in negatives:
        positives["WarnBlurred"].append(cv2.GaussianBlur(image, (0, 0), 3))
        positives["WarnBlackWhiteCopy"].append(photocopy(image))
        positives["WarnScreenCapture"].append(screen_capture(image, rng))
    report["documents_per_source"] = args.n
    report["negatives"] = len(negatives)
    neg_raised = [set(document_warnings(image, text_boxes=text_boxes(detector, image))) for _, image in negatives]
    spec_raised = [set(document_warnings(image, text_boxes=text_boxes(detector, image))) for image in specimens]
    incomplete = []
    for _, image in negatives[: args.n]:
        w = image.shape[1]
        cut = np.ascontiguousarray(image[:, int(w * 0.12) : int(w * 0.88)])  # the MRZ's ends cut off
        incomplete.append(cut)
    positives["WarnIncomplete"] = incomplete
    for warning in ALL_WARNINGS:
        images = positives[warning]
        boxes = [text_boxes(detector, im) if warning == "WarnIncomplete" else [] for im in images]
        hits = sum(warning in document_warnings(im, text_boxes=b) for im, b in zip(images, boxes, strict=True))
        report["warnings"][warning] = {
            "positives": len(images),
            "detected": round(hits / max(len(images), 1), 3),
            "false_positive": round(sum(warning in r for r in neg_raised) / max(len(neg_raised), 1), 3),
            "false_positive_icao_specimens": sum(warning in r for r in spec_raised),
        }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
