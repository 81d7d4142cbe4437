"""APCER / BPCER of liveness (ISO/IEC 30107-3 terms) on real live clips and generated attacks.

Bona fide presentations: the 11 GRID talking-face clips and a single-face 3.6 s stretch of the
facerec example video. Attack presentations: every generator in ``tests/liveness/attacks.py``
(still, moved, paper, screen) applied to 12 real photos. Prints one JSON document.

    .venv/bin/python benchmarks/eval_liveness.py [--shared-data ../shared/data] [--photos 12]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "liveness"))

import attacks  # noqa: E402

from openkyc.biometrics.detection import default_detector  # noqa: E402
from openkyc.liveness import LivenessChecker  # noqa: E402

ACTION_SETS = (["blink"], ["mouth"], ["nod"], ["shake"], ["nod", "shake"], ["mouth", "blink"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared-data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--photos", type=int, default=12)
    args = parser.parse_args()
    shared = Path(args.shared_data)
    checker = LivenessChecker(default_detector())
    started = time.perf_counter()

    live: dict[str, bytes] = {p.name: p.read_bytes() for p in attacks.live_clips(shared)[:-1]}
    live["hamilton_2.8-6.4s.mp4"] = attacks.hamilton_single_face(shared)
    live_rows = []
    for name, data in live.items():
        silent = checker.check(data, mode="silent")
        mouth = checker.check(data, mode="action", actions=["mouth"])
        live_rows.append(
            {
                "clip": name,
                "silent": silent.code,
                "score": round(silent.score, 1),
                "nonrigid": silent.evidence.get("silent", {}).get("nonrigid"),  # type: ignore[attr-defined]
                "action_mouth": mouth.code,
            }
        )
    full = checker.check(attacks.live_clips(shared)[-1].read_bytes(), mode="silent")

    per_type: dict[str, dict[str, object]] = {}
    for kind, make in attacks.ATTACKS.items():
        accepted_silent, accepted_action = 0, 0
        codes: list[str] = []
        scores: list[float] = []
        nonrigid: list[float] = []
        photos = attacks.attack_photos(shared, args.photos)
        for i, path in enumerate(photos):
            video = make(cv2.imread(str(path)), i)
            res = checker.check(video, mode="silent")
            accepted_silent += res.live
            codes.append(res.code)
            scores.append(round(res.score, 1))
            silent_ev = res.evidence.get("silent")
            if isinstance(silent_ev, dict):
                nonrigid.append(float(silent_ev["nonrigid"]))
            act = checker.check(video, mode="action", actions=ACTION_SETS[i % len(ACTION_SETS)])
            accepted_action += act.live
        n = len(photos)
        per_type[kind] = {
            "attacks": n,
            "apcer_silent": round(accepted_silent / n, 4),
            "apcer_action": round(accepted_action / n, 4),
            "max_score": max(scores),
            "max_nonrigid": round(max(nonrigid, default=0.0), 3),
            "codes": {c: codes.count(c) for c in sorted(set(codes))},
        }
    n_live = len(live_rows)
    print(  # noqa: T201
        json.dumps(
            {
                "bona_fide": n_live,
                "bpcer_silent": round(sum(r["silent"] != "Success" for r in live_rows) / n_live, 4),
                "bpcer_action_mouth": round(sum(r["action_mouth"] != "Success" for r in live_rows) / n_live, 4),
                "min_live_score": min(r["score"] for r in live_rows),
                "apcer": per_type,
                "live_clips": live_rows,
                "full_hamilton_clip": full.code,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
