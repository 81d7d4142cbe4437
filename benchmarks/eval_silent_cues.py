"""Silent mode's decision per presentation from a cache of face tracks, to tune recapture cues quickly.

The presentations of ``eval_liveness.py --split SPLIT`` (bona fide clips, photo attacks and screen
replays made with the same generators and seeds) are decoded and tracked as
``LivenessChecker.check(mode="silent")`` does (default ``VideoLimits`` and ``TrackConfig``), and
each track is pickled in ``--cache`` (outside the repository; tracks hold video frames) with its
motion cue (``nonrigid``). A second run only measures the recapture cues on the cached tracks and
decides with ``silent_score`` (``--hf-floor-max``: with the opt-in ``hf_floor`` cue): the decision ``check(mode="silent")`` makes on the same video, in
seconds instead of the minutes that making and encoding the replays takes. Prints, per live set
and per attack species: presentations, usable tracks, accepted, how many each deciding cue
refuses (``hf_floor``: at ``--hf-floor-max``, else at the tune value, whether or not it decides), and each cue's minimum, median and maximum (``--list``: every wrong decision).

    .venv/bin/python benchmarks/eval_silent_cues.py --split tune --cache /tmp/silent-tune
    .venv/bin/python benchmarks/eval_silent_cues.py --split heldout --cache /tmp/silent-heldout \\
        --species live,replay_screen_close,replay_screen_grid
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "liveness"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import attacks  # noqa: E402
import replays  # noqa: E402
from eval_liveness import SETS, split_of  # noqa: E402

from openkyc.biometrics.detection import default_detector  # noqa: E402
from openkyc.errors import OpenKYCError  # noqa: E402
from openkyc.liveness.recapture import recapture_evidence  # noqa: E402
from openkyc.liveness.silent import SilentConfig, silent_evidence, silent_score  # noqa: E402
from openkyc.liveness.track import TrackConfig, build_track  # noqa: E402
from openkyc.liveness.video import VideoLimits, decode_video  # noqa: E402

TUNED_FLICKER = 0.15  # chosen on the tune split (silent.FLICKER_MAX); opt-in, decides with --flicker
TUNED_HF_FLOOR = -1.3  # chosen on the tune split; opt-in (docs/liveness.md): counted at it when not deciding
SPECIES = ["live", *(f"photo_{k}" for k in attacks.ATTACKS), *(f"replay_{k}" for k in replays.REPLAYS)]


def cache_one(path: Path, video: bytes, detector: Any) -> None:
    limits = VideoLimits()
    decoded = decode_video(video, limits)
    if decoded.duration_s < limits.min_silent_duration_s:
        entry: dict[str, Any] = {"error": "FailedOperation.SilentTooShort"}
    else:
        try:
            track = build_track(decoded.frames, detector, config=TrackConfig())
            entry = {"track": track, "nonrigid": silent_evidence(track).nonrigid}
        except OpenKYCError as exc:
            entry = {"error": exc.error_code}
    path.write_bytes(pickle.dumps(entry))


def build(cache: Path, split: str, species: list[str], shared: Path) -> None:
    keep = split_of(split)
    detector = default_detector()
    for kind in species:
        if kind == "live":
            for folder, suffix in SETS.values():
                for p in sorted((shared / folder).glob(f"*{suffix}")):
                    if (keep is None or p.name in keep) and not (out := cache / f"live__{p.name}.pkl").exists():
                        cache_one(out, p.read_bytes(), detector)
        elif kind.startswith("photo_"):
            photos = attacks.attack_photos(shared, 12)
            for i, photo in enumerate(photos):
                if (split == "all" or (i % 2 == 1) == (split == "heldout")) and not (
                    out := cache / f"{kind}__{i}.pkl"
                ).exists():
                    cache_one(out, attacks.ATTACKS[kind[6:]](cv2.imread(str(photo)), i), detector)
        else:
            clips = [c for c in sorted((shared / "live-faces-varied").glob("*.mp4")) if keep is None or c.name in keep]
            for i, clip in enumerate(clips):  # the seeds of eval_liveness.py
                if not (out := cache / f"{kind}__{clip.name}.pkl").exists():
                    frames, times = replays.read_timed(clip)
                    cache_one(out, replays.replay(frames, times, 1000 + i, kind[7:]), detector)


def evaluate(
    cache: Path, species: list[str], show: bool, hf_floor_max: float | None = None, flicker: bool = False
) -> dict[str, Any]:
    cfg = SilentConfig(hf_floor_max=hf_floor_max, flicker_max=TUNED_FLICKER if flicker else None)
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for path in sorted(cache.glob("*.pkl")):
        kind = path.name.split("__")[0]
        if kind not in species:
            continue
        entry = pickle.loads(path.read_bytes())
        if "track" in entry:
            recap = recapture_evidence(entry["track"], cfg.recapture)
            score = silent_score(entry["nonrigid"], recap, cfg)
            entry = {"score": round(score, 2), "nonrigid": round(entry["nonrigid"], 4), **recap.to_dict()}
        groups[kind].append((path.name[len(kind) + 2 : -4], entry))
    report: dict[str, Any] = {}
    for kind, items in sorted(groups.items()):
        ok = [v for _, v in items if "score" in v]
        report[kind] = {
            "presentations": len(items),
            "tracked": len(ok),
            "accepted": sum(v["score"] >= cfg.pass_score for v in ok),
            "refused_by": {
                "nonrigid": sum(v["nonrigid"] < cfg.threshold for v in ok),
                "border": sum(v["border"] >= cfg.border_max for v in ok),
                "moire": sum(v["moire"] > cfg.moire_max for v in ok),
                "hf_floor": sum(v["hf_floor"] > (cfg.hf_floor_max or TUNED_HF_FLOOR) for v in ok),
                "flicker": sum(v["flicker"] > (cfg.flicker_max or TUNED_FLICKER) for v in ok),
            },
            "cues": {
                k: [min(vals), round(statistics.median(vals), 4), max(vals)]
                for k in ("nonrigid", "border", "moire", "hf_floor", "flicker", "glare", "noise_ratio")
                if (vals := [v[k] for v in ok])
            },
        }
        if show:
            wrong = [(n, v) for n, v in items if "score" in v and (v["score"] >= cfg.pass_score) != (kind == "live")]
            report[kind]["wrong"] = dict(wrong)
            report[kind]["errors"] = {n: v["error"] for n, v in items if "error" in v}
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared-data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--split", choices=("all", "tune", "heldout"), default="tune")
    parser.add_argument("--cache", required=True, help="folder for the pickled tracks (outside the repository)")
    parser.add_argument("--species", default=",".join(SPECIES), help=f"comma-separated, of {', '.join(SPECIES)}")
    parser.add_argument("--no-build", action="store_true", help="only evaluate what the cache holds")
    parser.add_argument(
        "--hf-floor-max", type=float, help=f"let hf_floor decide at this value (tune: {TUNED_HF_FLOOR})"
    )
    parser.add_argument("--flicker", action="store_true", help="the opt-in flicker cue decides (else reported only)")
    parser.add_argument("--list", action="store_true", help="list every wrong decision and every track error")
    args = parser.parse_args()
    species = args.species.split(",")
    if not set(species) <= set(SPECIES):
        parser.error(f"--species: choose from {', '.join(SPECIES)}")
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        build(cache, args.split, species, Path(args.shared_data))
    print(json.dumps(evaluate(cache, species, args.list, args.hf_floor_max, args.flicker), indent=1))  # noqa: T201


if __name__ == "__main__":
    main()
