"""Speed of a silent liveness check on a 3-second 640x480 video (one core).

The video is a GRID talking-face clip scaled to 640x480 and re-encoded as H.264 MP4 (75 frames,
25 fps). Prints one JSON document with the median and worst time of ``checker.check`` over
``--runs`` runs, and the time of each stage for one run.

    .venv/bin/python benchmarks/bench_liveness.py [--shared-data ../shared/data] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "liveness"))

import attacks  # noqa: E402

from openkyc.biometrics.detection import default_detector  # noqa: E402
from openkyc.liveness import LivenessChecker, decode_video  # noqa: E402
from openkyc.liveness.silent import silent_evidence  # noqa: E402
from openkyc.liveness.track import build_track  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared-data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    clip = Path(args.shared_data) / "grid-talking-face-videos" / "bbaf2n.mpg"
    frames = [cv2.resize(f, (640, 480)) for f in attacks.read_frames(clip)]
    video = attacks.encode_video(frames, fps=25)
    detector = default_detector(num_threads=1)
    checker = LivenessChecker(detector)
    checker.check(video)  # warm-up
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        result = checker.check(video)
        times.append(time.perf_counter() - started)
    t0 = time.perf_counter()
    decoded = decode_video(video)
    t1 = time.perf_counter()
    track = build_track(decoded.frames, detector)
    t2 = time.perf_counter()
    silent_evidence(track)
    t3 = time.perf_counter()
    print(  # noqa: T201
        json.dumps(
            {
                "video": {"width": 640, "height": 480, "seconds": len(frames) / 25, "bytes": len(video)},
                "sampled_frames": len(decoded.frames),
                "code": result.code,
                "median_s": round(statistics.median(times), 3),
                "max_s": round(max(times), 3),
                "target_s": 1.0,
                "stages_s": {
                    "decode_and_sample": round(t1 - t0, 3),
                    "detect_and_track": round(t2 - t1, 3),
                    "silent_cues": round(t3 - t2, 3),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
