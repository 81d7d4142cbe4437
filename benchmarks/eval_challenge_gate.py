"""The silent cues as challenge mode's photo gate: their score on live clips and on photo attacks.

Challenge mode refuses a recording whose silent score (:func:`openkyc.liveness.silent.silent_evidence`,
measured on the challenge-mode track: 15 fps, up to 180 frames) is below
``ChallengeConfig.min_silent_score``. This script measures that score, exactly as
``LivenessChecker.check(mode="challenge")`` computes it, on:

- bona fide: every clip of ``live-faces-varied`` and ``grid-talking-face-videos``, per split of
  ``benchmarks/action_labels.csv`` (the floor is chosen on ``tune`` only);
- attacks: the photo species of ``tests/liveness/attacks.py`` made from ``--photos`` real photos
  (3 s each); photos at even positions are ``tune``, odd ones ``heldout``.

For each candidate floor it reports the live clips refused (BPCER of the gate alone) and the photo
attacks let through (APCER of the gate alone), per split.

    .venv/bin/python benchmarks/eval_challenge_gate.py [--photos 12]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "liveness"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import attacks  # noqa: E402
from liveness_signals import clips  # noqa: E402

from openkyc.biometrics.detection import default_detector  # noqa: E402
from openkyc.errors import OpenKYCError  # noqa: E402
from openkyc.liveness.checker import LivenessConfig, challenge_limits  # noqa: E402
from openkyc.liveness.silent import silent_evidence  # noqa: E402
from openkyc.liveness.track import build_track  # noqa: E402
from openkyc.liveness.video import decode_video  # noqa: E402

FLOORS = (1.0, 2.0, 5.0, 10.0, 25.0, 50.0)


def score(video: bytes, detector: Any, config: LivenessConfig) -> dict[str, Any]:
    decoded = decode_video(video, challenge_limits(config.limits, config))
    try:
        track = build_track(decoded.frames, detector, config=config.track)
    except OpenKYCError as exc:
        return {"error": exc.error_code}
    ev = silent_evidence(track, config.silent)
    return {"score": round(ev.score, 2), "nonrigid": round(ev.nonrigid, 4), "moire": round(ev.moire, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared-data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--photos", type=int, default=12)
    args = parser.parse_args()
    shared = Path(args.shared_data)
    started = time.perf_counter()
    detector, config = default_detector(), LivenessConfig()
    with (ROOT / "benchmarks" / "action_labels.csv").open() as f:
        split = {f"{r['set']}/{r['clip']}": r["split"] for r in csv.DictReader(f)}
    live: dict[str, dict[str, Any]] = {}
    for folder, path in clips(shared):
        key = f"{folder}/{path.name}"
        live[key] = {"split": split.get(key, "tune"), **score(path.read_bytes(), detector, config)}
    photo: dict[str, dict[str, Any]] = {}
    for i, path in enumerate(attacks.attack_photos(shared, args.photos)):
        image = cv2.imread(str(path))
        for kind, make in attacks.ATTACKS.items():
            video = make(image, i)
            photo[f"{kind}/{i}"] = {"split": "tune" if i % 2 == 0 else "heldout", **score(video, detector, config)}

    def refused(rows: dict[str, dict[str, Any]], s: str, floor: float) -> tuple[int, int]:
        mine = [r for r in rows.values() if r["split"] == s]
        return sum("error" in r or r["score"] < floor for r in mine), len(mine)

    floors: dict[str, Any] = {}
    for floor in FLOORS:
        floors[str(floor)] = {}
        for s in ("tune", "heldout"):
            lr, ln = refused(live, s, floor)
            pr, pn = refused(photo, s, floor)
            floors[str(floor)][s] = {
                "live_refused": f"{lr}/{ln}",
                "bpcer_gate": round(lr / ln, 4) if ln else None,
                "photos_accepted": f"{pn - pr}/{pn}",
                "apcer_gate": round((pn - pr) / pn, 4) if pn else None,
            }
    report = {"floors": floors, "live": live, "photo": photo, "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(report, indent=1))  # noqa: T201


if __name__ == "__main__":
    main()
