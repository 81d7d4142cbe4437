"""ISO/IEC 30107-3 APCER per attack species and BPCER per live set, for every liveness mode.

Bona fide presentations: the GRID talking-face clips and the ``live-faces-varied`` clips (real
people; webcams, phones, vlogs, studio, TV). Attack presentations, all generated here from the
real data and never stored:

- photo species (``tests/liveness/attacks.py``): ``still``, ``moved``, ``paper``, ``screen`` made
  from ``--photos`` real photos;
- replay species (``tests/liveness/replays.py``): each of ``--clips`` live clips shown on a
  screen held in front of the camera: ``screen_hd``, ``screen_grid``, ``screen_close``,
  ``screen_glare``, ``screen_defocus``.

Modes, each decided as the service decides it:

- ``silent``: ``LivenessChecker.check(mode="silent")``;
- ``action``: the silent check, then the actions in order (``blink,mouth`` for even-numbered
  presentations, ``nod,shake`` for odd ones), as ``mode="action"`` does (actions measured on a
  15 fps track);
- ``reflection``: the face's colour against ``--schedules`` random colour sequences drawn after the
  recording (correlation at least 0.8 with at most 150 ms of start slack): the share accepted;
- ``challenge``: ``--schedules`` random one-action schedules (any of the four actions), two-action
  schedules on clips of at least 5.5 s, and three-action schedules of the default actions with
  compressed timing (lead 300-500 ms, gaps 200-300 ms) on clips of at least 5.9 s, drawn after the
  recording and judged with the photo gate (the silent score on the challenge-mode track must
  reach ``ChallengeConfig.min_silent_score``): the share accepted (a replayed recording performs its
  actions at the times it was recorded, not at the prompts). The default schedule (three actions
  over 6-9 s) does not fit these presentations: its APCER is estimated from each presentation's
  one-action rates (``default_estimate``), and reported with each presentation's nod rate replaced
  by its head-turn rate (nobody nods in the replayed footage).

APCER of a species is the share of its presentations (for reflection and challenge: of its
presentation-schedule pairs) accepted; BPCER of a live set the share of its clips refused (silent).
Challenge and reflection BPCER come from schedules built on real onsets (``eval_challenge.py``) and
from tinted clips (``tests/liveness/test_reflection.py``), not from this script.

Each silent cue (``nonrigid``, ``moire``, and the recapture cues of
``openkyc.liveness.recapture``) is reported separately too: its minimum, median and maximum per
live set and per attack species (``cues``), so that what each cue separates can be read off.
``--modes silent`` measures silent mode only (minutes instead of tens of minutes); ``--split``
keeps only the live clips (bona fide and replayed) of one split of ``benchmarks/action_labels.csv``
(clips at positions 3, 6, 9, ... sorted by name in each set are ``heldout``), and the photos of
that split (odd-numbered photos are ``heldout``).

    .venv/bin/python benchmarks/eval_liveness.py [--photos 12] [--clips 24] [--species all] [--schedules 200]
        [--rows /tmp/rows.json]        # every presentation's outcome, written as the run goes
    .venv/bin/python benchmarks/eval_liveness.py --rows /tmp/rows.json --summarise   # the APCER of those rows
    .venv/bin/python benchmarks/eval_liveness.py --modes silent --split heldout
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "liveness"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import attacks  # noqa: E402
import replays  # noqa: E402

from openkyc.biometrics.detection import default_detector  # noqa: E402
from openkyc.errors import OpenKYCError  # noqa: E402
from openkyc.liveness import LivenessChecker, LivenessResult  # noqa: E402
from openkyc.liveness.action import check_actions  # noqa: E402
from openkyc.liveness.challenge import (  # noqa: E402
    ACTIONS,
    ChallengeConfig,
    colour_correlation,
    new_schedule,
    verify_schedule,
)
from openkyc.liveness.checker import MODES  # noqa: E402
from openkyc.liveness.events import track_events  # noqa: E402
from openkyc.liveness.reflection import face_chroma  # noqa: E402
from openkyc.liveness.silent import silent_evidence  # noqa: E402
from openkyc.liveness.track import TrackConfig, build_track  # noqa: E402
from openkyc.liveness.video import VideoLimits, decode_video  # noqa: E402

ACTION_SETS = (["blink", "mouth"], ["nod", "shake"])
SETS = {"grid": ("grid-talking-face-videos", ".mpg"), "varied": ("live-faces-varied", ".mp4")}


def cue_values(result: LivenessResult) -> dict[str, float]:
    """The silent cues of one result, flat (``nonrigid``, ``moire``, the recapture cues)."""
    silent = result.evidence.get("silent")
    if not isinstance(silent, dict):
        return {}
    out = {k: float(silent[k]) for k in ("nonrigid", "micro_motion") if k in silent}
    recapture = silent.get("recapture")
    if isinstance(recapture, dict):
        out.update({k: float(v) for k, v in recapture.items() if k != "border_pairs"})
    return out


def cue_summary(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per cue: [min, median, max] over the presentations that measured it."""
    keys = sorted({k for r in rows for k in r})
    return {
        k: [round(min(v), 4), round(statistics.median(v), 4), round(max(v), 4)]
        for k in keys
        if (v := [r[k] for r in rows if k in r])
    }


def presentation(
    checker: LivenessChecker,
    video: bytes,
    index: int,
    schedules: int,
    rng: random.Random,
    modes: frozenset[str] = frozenset(MODES),
) -> dict[str, Any]:
    """Every asked mode's outcome for one presentation."""
    out: dict[str, Any] = {}
    silent = checker.check(video, mode="silent")
    out["silent"] = silent.live
    out["silent_code"] = silent.code
    out["silent_score"] = round(silent.score, 1)
    out["cues"] = cue_values(silent)
    if modes == {"silent"}:
        return out
    limits = VideoLimits(max_bytes=64 * 1024 * 1024, sample_fps=15, max_frames=400, max_duration_s=30)
    decoded = decode_video(video, limits)
    try:
        track = build_track(decoded.frames, checker.detector, config=replace(TrackConfig(), min_hist_corr=-1.0))
    except OpenKYCError:  # no usable face track: no action, colour or schedule can be followed
        out.update(action=False, reflection=[False] * schedules, challenge_1=[False] * schedules)
        out.update(challenge_2=[], challenge_3=[], challenge_by_action={}, gate_score=0.0)
        return out
    found = check_actions(track, ACTION_SETS[index % 2])
    out["action"] = silent.live and all(a.seen for a in found)
    duration = decoded.duration_s * 1000.0
    faces = [f.time_s * 1000.0 for f in track.faces]
    events = track_events(track)
    observed = [face_chroma(track.image(f), f).tolist() for f in track.faces]
    cfg = ChallengeConfig()
    # challenge mode's photo gate: the silent score on this 15 fps track (the same frames as the
    # challenge-mode track; this track also keeps recordings whose colour histogram jumps, which
    # challenge mode refuses without colours, so the figures here can only be higher)
    gate = silent_evidence(track).score
    refl, one, two, three = [], [], [], []
    by_action: dict[str, list[bool]] = defaultdict(list)
    one_cfg = replace(cfg, actions=ACTIONS, count=1, lead_ms=(0, max(1, int(duration) - 2100)))
    two_cfg = replace(cfg, actions=ACTIONS, count=2, lead_ms=(300, 900))
    three_cfg = replace(cfg, count=3, lead_ms=(300, 500), gap_ms=(200, 300))  # the default actions, compressed
    # timing alone here; summarise() applies the gate (so that --rows can be summarised again)
    kwargs: dict[str, Any] = {"duration_ms": duration, "face_times_ms": faces, "config": cfg}
    for i in range(schedules):
        colours = new_schedule(reflection=True, rng=rng).colors or ()
        refl.append(colour_correlation(observed, faces, colours, cfg)[0] >= cfg.min_colour_correlation)
        s1 = new_schedule(config=one_cfg, rng=rng)
        one.append(verify_schedule(s1, events, **kwargs).live)
        by_action[s1.actions[0].action].append(one[-1])
        if duration >= 5500 and i % 2 == 0:
            two.append(verify_schedule(new_schedule(config=two_cfg, rng=rng), events, **kwargs).live)
        if duration >= 5900 and i % 2 == 1:
            s3 = new_schedule(config=three_cfg, rng=rng)
            if s3.record_ms <= duration + cfg.short_tolerance_ms:
                three.append(verify_schedule(s3, events, **kwargs).live)
    out.update(reflection=refl, challenge_1=one, challenge_2=two, challenge_3=three, gate_score=round(gate, 2))
    out["challenge_by_action"] = {a: sum(v) / len(v) for a, v in by_action.items()}
    return out


def default_estimate(rows: list[dict[str, Any]], nod_as_shake: bool = False) -> float | None:
    """APCER of the default schedule (every order of the default actions) from each presentation's
    one-action acceptance rates (timing alone), the actions taken as independent within a
    presentation, times the share of presentations that pass the photo gate."""
    cfg = ChallengeConfig()
    values = []
    for r in rows:
        rates = dict(r["challenge_by_action"])
        if nod_as_shake and "shake" in rates:
            rates["nod"] = rates["shake"]
        if r["gate_score"] < cfg.min_silent_score:
            values.append(0.0)
        elif all(a in rates for a in cfg.actions):
            values.append(float(np.prod([rates[a] for a in cfg.actions])))
    return round(float(np.mean(values)), 5) if values else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    floor = ChallengeConfig().min_silent_score

    def share(key: str, gated: bool = True) -> float | None:
        gated = gated and key.startswith("challenge")
        flat = [v and (not gated or r["gate_score"] >= floor) for r in rows for v in r[key]]
        return round(sum(flat) / len(flat), 4) if flat else None

    out: dict[str, Any] = {"presentations": n, "apcer_silent": round(sum(r["silent"] for r in rows) / n, 4)}
    if "action" in rows[0]:
        out.update(
            apcer_action=round(sum(r["action"] for r in rows) / n, 4),
            apcer_reflection=share("reflection"),
            apcer_challenge_1_action=share("challenge_1"),
            apcer_challenge_1_action_timing_alone=share("challenge_1", gated=False),
            apcer_challenge_2_actions=share("challenge_2"),
            apcer_challenge_3_actions_compressed=share("challenge_3"),
            apcer_challenge_default_estimate=default_estimate(rows),
            apcer_challenge_default_estimate_nod_as_shake=default_estimate(rows, nod_as_shake=True),
            challenge_gate_passed=sum(r["gate_score"] >= floor for r in rows),
            max_gate_score=max(r["gate_score"] for r in rows),
        )
    out.update(
        max_silent_score=max(r["silent_score"] for r in rows),
        silent_codes={c: sum(r["silent_code"] == c for r in rows) for c in sorted({r["silent_code"] for r in rows})},
        cues=cue_summary([r.get("cues", {}) for r in rows]),
    )
    return out


def split_of(split: str) -> set[str] | None:
    """The clip names of one split of ``benchmarks/action_labels.csv`` (``None``: every clip)."""
    if split == "all":
        return None
    with (ROOT / "benchmarks" / "action_labels.csv").open() as f:
        return {r["clip"] for r in csv.DictReader(f) if r["split"] == split}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared-data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--clips", type=int, default=24, help="live-faces-varied clips replayed per species")
    parser.add_argument("--clip-split", choices=("all", "tune", "heldout"), default="all",
                        help="replay only clips of this split of benchmarks/action_labels.csv")  # fmt: skip
    parser.add_argument("--split", choices=("all", "tune", "heldout"), default="all",
                        help="live clips (bona fide and replayed) and photos of this split only")  # fmt: skip
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated modes to measure (silent is always run)"
    )
    parser.add_argument("--species", default="all", help="comma-separated photo and replay species, or all")
    parser.add_argument("--schedules", type=int, default=200, help="random schedules per presentation")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rows", help="write every presentation's outcome here (JSON), or with --summarise read them")
    parser.add_argument("--summarise", action="store_true", help="only summarise the --rows of an earlier run")
    parser.add_argument(
        "--live-sets", default="grid,varied", help="bona fide sets to measure (comma-separated, or none)"
    )
    args = parser.parse_args()
    if args.summarise:
        rows = json.loads(Path(args.rows).read_text())
        print(json.dumps({k: summarise(v) for k, v in rows.items()}, indent=1))  # noqa: T201
        return
    shared = Path(args.shared_data)
    rng = random.Random(args.seed)
    checker = LivenessChecker(default_detector())
    started = time.perf_counter()
    wanted = None if args.species == "all" else set(args.species.split(","))
    modes = frozenset({"silent", *args.modes.split(",")})
    if not modes <= set(MODES):
        parser.error(f"--modes: choose from {', '.join(MODES)}")
    keep = split_of(args.split)
    replay_keep = split_of(args.clip_split) if args.split == "all" else keep

    bona: dict[str, Any] = {}
    for name, (folder, suffix) in SETS.items():
        if name not in args.live_sets.split(","):
            continue
        paths = [p for p in sorted((shared / folder).glob(f"*{suffix}")) if keep is None or p.name in keep]
        results = [(p.name, checker.check(p.read_bytes(), mode="silent")) for p in paths]
        refused = [(clip, r.code) for clip, r in results if not r.live]
        bona[name] = {
            "clips": len(results),
            "bpcer_silent": round(len(refused) / len(results), 4),
            "refused": dict(refused),
            "min_live_score": min(round(r.score, 1) for _, r in results),
            "cues": cue_summary([cue_values(r) for _, r in results]),
        }

    species: dict[str, list[dict[str, Any]]] = defaultdict(list)
    photos = attacks.attack_photos(shared, args.photos)
    photo_ids = [i for i in range(len(photos)) if args.split == "all" or (i % 2 == 1) == (args.split == "heldout")]
    for kind, make in attacks.ATTACKS.items():
        if wanted is not None and kind not in wanted:
            continue
        for i in photo_ids:
            video = make(cv2.imread(str(photos[i])), i)
            species[f"photo_{kind}"].append(presentation(checker, video, i, args.schedules, rng, modes))
    clips = sorted((shared / "live-faces-varied").glob("*.mp4"))
    clips = [c for c in clips if replay_keep is None or c.name in replay_keep][: args.clips]
    for i, clip in enumerate(clips):
        frames, times = replays.read_timed(clip)
        for kind in replays.REPLAYS:
            if wanted is not None and kind not in wanted:
                continue
            video = replays.replay(frames, times, 1000 + i, kind)
            species[f"replay_{kind}"].append(presentation(checker, video, i, args.schedules, rng, modes))
            if args.rows:  # after every presentation: a long run stopped early keeps what it measured
                Path(args.rows).write_text(json.dumps(species))
    if args.rows:
        Path(args.rows).write_text(json.dumps(species))
    report = {
        "bona_fide": bona,
        "attacks": {k: summarise(v) for k, v in species.items()},
        "replayed_clips": [c.name for c in clips],
        "photos": len(photo_ids),
        "modes": sorted(modes),
        "split": args.split,
        "schedules_per_presentation": args.schedules,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, indent=1))  # noqa: T201


if __name__ == "__main__":
    main()
