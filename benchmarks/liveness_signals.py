"""Per-frame action measures of the real live clips (shared by eval_liveness.py and the labelling work).

For each clip of ``live-faces-varied`` and ``grid-talking-face-videos`` the whole clip is decoded
at ``fps`` (15 by default), the face tracked with YuNet, and per tracked frame the raw measures of
:func:`openkyc.liveness.events.raw_measures` are kept with the frame time in ms. Nothing is written
unless ``--out`` is given (a JSON cache outside the repository).

    .venv/bin/python benchmarks/liveness_signals.py --out /tmp/signals.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from openkyc.biometrics.detection import default_detector
from openkyc.liveness.events import raw_measures
from openkyc.liveness.track import TrackConfig, build_track
from openkyc.liveness.video import VideoLimits, decode_video

ROOT = Path(__file__).resolve().parents[1]
SETS = ("live-faces-varied", "grid-talking-face-videos")


def clips(shared: Path) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for folder in SETS:
        suffix = ".mp4" if folder == "live-faces-varied" else ".mpg"
        out.extend((folder, p) for p in sorted((shared / folder).glob(f"*{suffix}")))
    return out


def clip_signals(path: Path, detector: Any, fps: float = 15.0) -> dict[str, Any]:
    limits = VideoLimits(max_bytes=64 * 1024 * 1024, sample_fps=fps, max_frames=400, max_duration_s=30.0)
    decoded = decode_video(path.read_bytes(), limits)
    try:
        track = build_track(decoded.frames, detector, config=replace(TrackConfig(), min_hist_corr=-1.0))
    except Exception as exc:  # a clip the tracker refuses is reported, not hidden
        return {"error": getattr(exc, "error_code", type(exc).__name__), "duration_ms": decoded.duration_s * 1000}
    times, raw = raw_measures(track)
    return {
        "duration_ms": decoded.duration_s * 1000,
        "frames": len(decoded.frames),
        "times_ms": times,
        "raw": raw,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared-data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    detector = default_detector()
    out = {f"{folder}/{p.name}": clip_signals(p, detector, args.fps) for folder, p in clips(Path(args.shared_data))}
    Path(args.out).write_text(json.dumps(out))
    print(json.dumps({k: v.get("error", len(v.get("times_ms", []))) for k, v in out.items()}, indent=1))  # noqa: T201


if __name__ == "__main__":
    main()
