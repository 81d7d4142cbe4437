"""Reproduce the face score calibration table and the embedder/fusion/template-size measurements.

    .venv/bin/python benchmarks/calibrate_faces.py [--data ../shared/data] [--write]

Faces: facerec-examples single-identity photos, dlib-johns crops (labelled identities) and every
face of the dlib-faces-annotated group photos (each an unknown, distinct person). Genuine pairs:
same labelled identity. Impostor pairs: different identities across all of them, except pairs of
faces from the same group photo. Prints one JSON document; ``--write`` also writes
src/openkyc/biometrics/calibration.json (the table the package ships).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from itertools import combinations
from pathlib import Path

import numpy as np

from openkyc.biometrics.calibration import EMBEDDERS, build_table
from openkyc.biometrics.detection import default_detector, largest_face
from openkyc.biometrics.embedding import default_dlib, default_sface
from openkyc.biometrics.evaluation import roc_metrics
from openkyc.biometrics.images import decode_image
from openkyc.biometrics.templates import TemplateKey, TemplateProtector, hamming_similarity

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "src" / "openkyc" / "biometrics" / "calibration.json"


def collect(data: Path) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(identity, source photo, sface embedding, dlib embedding) for every usable face."""
    detector, sface, dlib = default_detector(), default_sface(), default_dlib()
    items: list[tuple[str, str, Path, bool]] = []
    for folder in ("facerec-examples", "dlib-johns"):
        with (data / folder / "labels.csv").open() as fh:
            for row in csv.DictReader(fh):
                if row.get("kind", "single_identity") == "single_identity":
                    items.append((row["identity"], row["image"], data / folder / row["image"], False))
    with (data / "dlib-faces-annotated" / "face_counts.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["annotated_faces"] and int(row["annotated_faces"]) > 0:
                path = data / "dlib-faces-annotated" / row["image"]
                items.append((f"annotated:{row['image']}", row["image"], path, True))
    out = []
    for identity, photo, path, every_face in items:
        image = decode_image(path.read_bytes())
        faces = detector.detect(image)
        chosen = faces if every_face else [f for f in [largest_face(faces)] if f is not None]
        for i, face in enumerate(chosen):
            ident = f"{identity}#{i}" if every_face else identity
            out.append((ident, photo, sface.embed(image, face), dlib.embed(image, face)))
    return out


def pair_scores(faces: list[tuple[str, str, np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    same, s_cos, d_cos, idx = [], [], [], []
    for (i, a), (j, b) in combinations(enumerate(faces), 2):
        if a[0] != b[0] and a[1] == b[1]:
            continue  # two people of one group photo: left out
        same.append(a[0] == b[0])
        s_cos.append(float(a[2] @ b[2]))
        d_cos.append(float(a[3] @ b[3]))
        idx.append((i, j))
    return {
        "same": np.asarray(same),
        "sface": np.asarray(s_cos),
        "dlib": np.asarray(d_cos),
        "fusion": (np.asarray(s_cos) + np.asarray(d_cos)) / 2,
        "idx": np.asarray(idx),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--bits", type=int, default=1024)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    faces = collect(args.data)
    s = pair_scores(faces)
    same = s["same"]
    report: dict[str, object] = {
        "faces": len(faces),
        "genuine_pairs": int(same.sum()),
        "impostor_pairs": int((~same).sum()),
    }
    z = {}
    for name in ("sface", "dlib"):
        imp = s[name][~same]
        z[name] = (s[name] - imp.mean()) / imp.std()
        report[name] = roc_metrics(s[name], same)
    report["fused_znorm_mean"] = roc_metrics((z["sface"] + z["dlib"]) / 2, same)
    report["fusion"] = roc_metrics(s["fusion"], same)
    sface_emb = np.stack([f[2] for f in faces])
    sizes = {}
    for bits in (256, 512, 1024, 2048):
        prot = TemplateProtector(TemplateKey("calibration", b"calibration-key-0123456789"), bits=bits)
        temps = [prot.protect(e) for e in sface_emb]
        ham = np.asarray([hamming_similarity(temps[i], temps[j]) for i, j in s["idx"]])
        sizes[str(bits)] = roc_metrics(ham, same)
    report["template_bits"] = sizes
    data = {
        "faces": len(faces),
        "genuine_pairs": int(same.sum()),
        "impostor_pairs": int((~same).sum()),
        "command": "benchmarks/calibrate_faces.py --write",
    }
    tables: dict[str, dict[str, object]] = {}
    knots: dict[str, object] = {}
    for name in EMBEDDERS:
        table = build_table(s[name][~same], bits=args.bits, embedder=name)
        table["data"] = data
        tables[name] = table
        imp, gen = s[name][~same], s[name][same]
        knots[name] = {
            f"sim{int(sim)}": {
                "cosine": cos_thr,
                "template": tmpl_thr,
                "impostors_at_or_above": int((imp >= cos_thr).sum()),
                "genuine_tar": round(float((gen >= cos_thr).mean()), 4),
            }
            for (cos_thr, sim), (tmpl_thr, _) in zip(table["cosine"][1:-1], table["template"][1:-1], strict=True)
        }
    document = {"version": 2, "default_embedder": "sface", "embedders": tables}
    report["empirical_at_knots"] = knots
    report["table"] = document
    if args.write:
        TABLE.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
