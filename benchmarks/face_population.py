"""The face population of ``../shared/data`` for calibration: every usable identity, embedded once.

    .venv/bin/python benchmarks/face_population.py [--data ../shared/data] [--cache /tmp/openkyc-face-population.npz]
        [--frames 8]

Sources (one row per face; ``identity`` labels, ``source`` names the photo or clip it came from):

* ``facerec-examples`` single-identity photos (6 people; group photos and resolution variants of
  an already included photo are left out: the group faces are not labelled face by face);
* ``dlib-johns`` (5 people x 11 crops);
* every face of the annotated ``dlib-faces-annotated`` group photos (each an unknown, distinct
  person) and the Tom Cruise close-up; the ``bald_guys`` collage is not labelled and left out;
* ``mrz-specimens`` document portraits (specimen holder A on 5 documents, holder B on one);
* ``grid-talking-face-videos``: ``--frames`` frames spread evenly over each clip, largest face;
  one identity per clip until :func:`merge_clips` finds clips of one speaker (GRID's speakers
  are not named upstream: clips whose faces agree far beyond any impostor pair, under both
  embedders, are taken as one speaker; the merge is printed);
* ``live-faces-varied``: ``--frames`` frames spread over each clip, largest face, one person a clip.

Left out: ``antispoof-samples`` (people not labelled; prints and replays show some of the same
people), the unlabelled multi-person Hamilton clip.

The models run once; the embeddings go to ``--cache`` (a file under /tmp, never committed), which
``benchmarks/calibrate_faces.py`` reads. Embeddings are personal data: keep the cache local.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path("/tmp/openkyc-face-population.npz")


def _photo_items(data: Path) -> list[tuple[str, str, str, Path, bool]]:
    """(identity, source, set, path, every_face) for each photo."""
    items: list[tuple[str, str, str, Path, bool]] = []
    for folder in ("facerec-examples", "dlib-johns"):
        with (data / folder / "labels.csv").open() as fh:
            for row in csv.DictReader(fh):
                if row.get("kind", "single_identity") == "single_identity":
                    items.append(
                        (f"{folder}:{row['identity']}", row["image"], folder, data / folder / row["image"], False)
                    )
    with (data / "dlib-faces-annotated" / "face_counts.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["annotated_faces"] and int(row["annotated_faces"]) > 0:
                path = data / "dlib-faces-annotated" / row["image"]
                items.append((f"annotated:{row['image']}", row["image"], "dlib-faces-annotated", path, True))
    for entry in json.loads((data / "mrz-specimens" / "ground_truth.json").read_text()):
        face = str(entry.get("face", ""))
        if face.startswith("ICAO specimen holder A"):
            ident = "mrz:holder_a"
        elif face.startswith("specimen holder B"):
            ident = "mrz:holder_b"
        else:
            continue
        items.append((ident, entry["image"], "mrz-specimens", data / "mrz-specimens" / entry["image"], False))
    return items


def _video_frames(path: Path, count: int) -> list[tuple[int, Any]]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        return []
    picks = np.unique(np.linspace(0, len(frames) - 1, count).round().astype(int))
    return [(int(i), frames[i]) for i in picks]


def collect(data: Path, frames: int) -> dict[str, Any]:
    from openkyc.biometrics.detection import default_detector, largest_face
    from openkyc.biometrics.embedding import default_dlib, default_sface
    from openkyc.biometrics.images import decode_image

    detector, sface, dlib = default_detector(), default_sface(), default_dlib()
    rows: dict[str, list[Any]] = {k: [] for k in ("identity", "source", "set", "sface", "dlib", "face_px", "det")}

    def add(identity: str, source: str, subset: str, image: Any, face: Any) -> None:
        rows["identity"].append(identity)
        rows["source"].append(source)
        rows["set"].append(subset)
        rows["sface"].append(sface.embed(image, face))
        rows["dlib"].append(dlib.embed(image, face))
        rows["face_px"].append(float(min(face.box.w, face.box.h)))
        rows["det"].append(float(face.score))

    for identity, source, subset, path, every_face in _photo_items(data):
        image = decode_image(path.read_bytes())
        faces = detector.detect(image)
        chosen = faces if every_face else [f for f in [largest_face(faces)] if f is not None]
        for i, face in enumerate(chosen):
            add(f"{identity}#{i}" if every_face else identity, source, subset, image, face)
    for folder, column in (("grid-talking-face-videos", "video"), ("live-faces-varied", "video")):
        with (data / folder / "labels.csv").open() as fh:
            clips = [row[column] for row in csv.DictReader(fh)]
        for clip in clips:
            for index, frame in _video_frames(data / folder / clip, frames):
                face = largest_face(detector.detect(frame))
                if face is not None:
                    add(f"{folder}:{clip}", f"{clip}@{index}", folder, frame, face)
    return {
        "identity": np.asarray(rows["identity"]),
        "source": np.asarray(rows["source"]),
        "set": np.asarray(rows["set"]),
        "sface": np.stack(rows["sface"]).astype(np.float32),
        "dlib": np.stack(rows["dlib"]).astype(np.float32),
        "face_px": np.asarray(rows["face_px"]),
        "det": np.asarray(rows["det"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--frames", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    population = collect(args.data, args.frames)
    np.savez(args.cache, **population)
    ids, _counts = np.unique(population["identity"], return_counts=True)
    summary = {
        "faces": len(population["identity"]),
        "identities": len(ids),
        "by_set": {s: int((population["set"] == s).sum()) for s in np.unique(population["set"])},
        "seconds": round(time.perf_counter() - started, 1),
        "cache": str(args.cache),
    }
    json.dump(summary, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
