"""Action detectors and the timed challenge measured against hand annotations of real footage.

Labels: ``benchmarks/action_labels.csv`` (how they were made: docs/liveness.md, "Annotations").
Each clip of ``live-faces-varied`` and ``grid-talking-face-videos`` is decoded at 15 fps, the face
tracked with YuNet, and the action events detected (:mod:`openkyc.liveness.events`). Per split
(``tune``: thresholds were set on it; ``heldout``: never tuned on) and per action it reports:

- ``recall``: labelled events matched by a detected event whose onset is within ``--match-ms``
  (400 ms) of the labelled onset (one to one, in time order);
- ``false_per_min``: detected events matched to no label, per minute of scored footage (mouth
  events are scored only outside the labelled stretches of talking; blinks not in clips whose eyes
  cannot be read);
- ``onset_error_ms``: median and 90th percentile of ``|detected - labelled|`` over matched events;
- ``challenge_bpcer``: for each labelled event a one-action schedule whose prompt came
  ``reaction`` ms (300, 500 or 700) before the labelled onset, as a person answering the prompt
  would have produced it, is verified against the detected events; the share refused;
- ``challenge_apcer``: schedules drawn at random (:func:`openkyc.liveness.challenge.new_schedule`,
  one action, and two actions on clips long enough) verified against the same recordings, which were
  made before the schedules were drawn: the share accepted. This is the timing property a replayed
  recording must beat; what the replay path (screen, camera) does to the detectors is measured by
  ``eval_liveness.py``;
- ``bpcer_onset_schedules``: schedules fitted to each clip's length and its labelled onsets of the
  default actions (``challenge_schedules.onset_schedules``: one event per action the clip has,
  prompted 300, 500 or 700 ms before it); the share refused, and the clips with a refusal with
  the 95 % upper bound of their share;
- ``apcer_live_random``: random schedules of the default actions, of the clip's own default
  actions and of each single action, squeezed into each live recording
  (``challenge_schedules.random_fitted``), timing alone; accepted schedules, and recordings that
  any schedule accepted with the 95 % upper bound (schedules on one recording are not independent);
- ``apcer_attacks`` (``--attacks``, slow): the same random schedules against the screen replays of
  the ``--attack-split`` clips of ``live-faces-varied`` (``--replay-grid``: the GRID clips too) and
  the photo attacks of that split's photos, 6 s, per species, with challenge mode's photo floor and
  on timing alone (``challenge_presentations.py``).

    .venv/bin/python benchmarks/eval_challenge.py [--signals /tmp/signals.json] [--schedules 400]
        [--no-rules] [--attacks --attack-cache /tmp/attacks.json]

``--signals`` reuses (or writes, when missing) the per-frame measures of ``liveness_signals.py``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from challenge_presentations import attack_apcer, judge_random, summarise_random  # noqa: E402
from challenge_schedules import onset_schedules, upper_bound  # noqa: E402
from liveness_signals import clip_signals, clips  # noqa: E402

from openkyc.liveness.challenge import (  # noqa: E402
    DEFAULT_ACTIONS,
    ChallengeConfig,
    Event,
    Schedule,
    TimedAction,
    new_schedule,
    verify_schedule,
)
from openkyc.liveness.events import EventConfig, detect_events  # noqa: E402

ACTIONS = ("blink", "mouth", "nod", "shake")
REACTIONS_MS = (300, 500, 700)


def load_labels(path: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            key = f"{row['set']}/{row['clip']}"
            clip = out.setdefault(key, {"split": row["split"], "events": [], "talking": [], "unscored": set()})
            onset, end = float(row["onset_ms"]), float(row["end_ms"])
            if row["action"] == "talking":
                clip["talking"].append((onset, end))
            elif row["action"].startswith("unscored_"):
                clip["unscored"].add(row["action"].removeprefix("unscored_"))
            else:
                clip["events"].append(Event(row["action"], onset, end))
    return out


def _inside(t: float, stretches: list[tuple[float, float]]) -> bool:
    return any(a <= t <= b for a, b in stretches)


def _scored_ms(duration: float, action: str, label: dict[str, Any]) -> float:
    if action in label["unscored"]:
        return 0.0
    if action != "mouth":
        return duration
    talking = sum(min(b, duration) - max(a, 0.0) for a, b in label["talking"] if b > 0 and a < duration)
    return max(0.0, duration - talking)


def match(labelled: list[Event], detected: list[Event], tolerance: float) -> list[tuple[Event, Event | None]]:
    free = sorted(detected, key=lambda e: e.onset_ms)
    pairs: list[tuple[Event, Event | None]] = []
    for lab in sorted(labelled, key=lambda e: e.onset_ms):
        best = min(free, key=lambda d: abs(d.onset_ms - lab.onset_ms), default=None)
        if best is not None and abs(best.onset_ms - lab.onset_ms) <= tolerance:
            free.remove(best)
            pairs.append((lab, best))
        else:
            pairs.append((lab, None))
    return pairs


def detector_metrics(
    data: dict[str, Any], labels: dict[str, dict[str, Any]], config: EventConfig, tolerance: float
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for split in ("tune", "heldout"):
        per: dict[str, dict[str, Any]] = {
            a: {"labelled": 0, "found": 0, "false": 0, "minutes": 0.0, "errors": []} for a in ACTIONS
        }
        for key, sig in data.items():
            label = labels[key]
            if label["split"] != split or "times_ms" not in sig:
                continue
            detected = detect_events(sig["times_ms"], sig["raw"], config)
            duration = float(sig["duration_ms"])
            for action in ACTIONS:
                scored = _scored_ms(duration, action, label)
                if scored <= 0:
                    continue
                labs = [e for e in label["events"] if e.action == action]
                dets = [e for e in detected if e.action == action]
                if action == "mouth":
                    dets = [e for e in dets if not _inside(e.onset_ms, label["talking"])]
                    labs = [e for e in labs if not _inside(e.onset_ms, label["talking"])]
                pairs = match(labs, dets, tolerance)
                m = per[action]
                m["labelled"] += len(labs)
                m["found"] += sum(1 for _, d in pairs if d is not None)
                m["false"] += len(dets) - sum(1 for _, d in pairs if d is not None)
                m["minutes"] += scored / 60000.0
                m["errors"] += [abs(d.onset_ms - lab.onset_ms) for lab, d in pairs if d is not None]
        out[split] = {
            a: {
                "labelled_events": m["labelled"],
                "recall": round(m["found"] / m["labelled"], 3) if m["labelled"] else None,
                "false_events": m["false"],
                "scored_minutes": round(m["minutes"], 2),
                "false_per_min": round(m["false"] / m["minutes"], 2) if m["minutes"] else None,
                "onset_error_ms_median": round(float(np.median(m["errors"]))) if m["errors"] else None,
                "onset_error_ms_p90": round(float(np.percentile(m["errors"], 90))) if m["errors"] else None,
            }
            for a, m in per.items()
        }
    return out


def _one(action: str, prompt: int, cfg: ChallengeConfig, record_ms: int) -> Schedule:
    start = prompt + cfg.reaction_ms
    return Schedule((TimedAction(action, prompt, start, start + cfg.window_ms),), None, record_ms)


def challenge_metrics(
    data: dict[str, Any],
    labels: dict[str, dict[str, Any]],
    config: EventConfig,
    challenge: ChallengeConfig,
    schedules: int,
    seed: int,
) -> dict[str, Any]:
    rng = random.Random(seed)
    out: dict[str, Any] = {}
    for split in ("tune", "heldout"):
        bona: dict[str, list[str]] = defaultdict(list)
        attack: dict[str, list[bool]] = defaultdict(list)
        per_clip: list[dict[str, list[bool]]] = []
        for key, sig in data.items():
            label = labels[key]
            if label["split"] != split or "times_ms" not in sig:
                continue
            duration = float(sig["duration_ms"])
            detected = detect_events(sig["times_ms"], sig["raw"], config)
            faces = sig["times_ms"]
            for ev in label["events"]:
                if ev.action in label["unscored"]:
                    continue
                for reaction in REACTIONS_MS:
                    prompt = int(ev.onset_ms) - reaction
                    record = prompt + challenge.reaction_ms + challenge.window_ms + challenge.tail_ms
                    if prompt < 0 or record > duration + challenge.short_tolerance_ms:
                        continue
                    verdict = verify_schedule(
                        _one(ev.action, prompt, challenge, int(min(record, duration))),
                        detected,
                        duration_ms=duration,
                        face_times_ms=faces,
                        config=challenge,
                    )
                    bona[ev.action].append(verdict.code)
            # random schedules against the recording
            mine: dict[str, list[bool]] = defaultdict(list)
            per_clip.append(mine)
            one = replace(challenge, actions=ACTIONS, count=1, lead_ms=(0, max(1, int(duration) - 2100)))
            two = replace(challenge, actions=ACTIONS, count=2, lead_ms=(300, 900))
            three = replace(challenge, count=3, lead_ms=(300, 500), gap_ms=(200, 300))
            for i in range(schedules):
                s = new_schedule(config=one, rng=rng)
                if s.record_ms <= duration:
                    v = verify_schedule(s, detected, duration_ms=duration, face_times_ms=faces, config=challenge)
                    attack[f"1:{s.actions[0].action}"].append(v.live)
                    mine[s.actions[0].action].append(v.live)
                for key, cfg, shortest, parity in (
                    ("2 actions", two, 5500, 0),
                    ("3 actions, compressed", three, 5900, 1),
                ):
                    if duration < shortest or i % 2 != parity:
                        continue
                    drawn = new_schedule(config=cfg, rng=rng)
                    if drawn.record_ms <= duration + challenge.short_tolerance_ms:
                        v = verify_schedule(
                            drawn, detected, duration_ms=duration, face_times_ms=faces, config=challenge
                        )
                        attack[key].append(v.live)
                        mine[key].append(v.live)
        out[split] = {
            "estimates": estimates(bona, attack, per_clip, challenge),
            "bpcer_schedule_from_real_onsets": {
                a: {
                    "schedules": len(codes),
                    "refused": sum(c != "Success" for c in codes),
                    "bpcer": round(sum(c != "Success" for c in codes) / len(codes), 3) if codes else None,
                    "codes": dict(sorted({c: codes.count(c) for c in set(codes)}.items())),
                }
                for a, codes in sorted(bona.items())
            },
            "apcer_random_schedules": {
                k: {"schedules": len(v), "accepted": sum(v), "apcer": round(sum(v) / len(v), 4) if v else None}
                for k, v in sorted(attack.items())
            },
        }
    return out


def _rate(values: list[bool] | list[str] | None, good: object = True) -> float | None:
    return sum(v == good for v in values) / len(values) if values else None


def _mean_product(rates: list[dict[str, float | None]], combos: list[tuple[str, ...]]) -> float | None:
    """Mean over ``rates`` (one per recording, or one pooled) and ``combos`` of the product of rates."""
    products = [
        float(np.prod([r[a] or 0.0 for a in combo]))
        for r in rates
        for combo in combos
        if all(r.get(a) is not None for a in combo)
    ]
    return round(float(np.mean(products)), 5) if products else None


def estimates(
    bona: dict[str, list[str]],
    attack: dict[str, list[bool]],
    per_clip: list[dict[str, list[bool]]],
    challenge: ChallengeConfig,
) -> dict[str, Any]:
    """Multi-action figures from the one-action ones, the actions taken as independent *within* a recording.

    APCER of a schedule of ``count`` actions drawn from ``actions``: per recording, the product of
    its one-action APCER for each action set the schedule can draw, averaged over sets and
    recordings (a recording with many events passes every step more often: pooling the rates first
    would hide that). BPCER: one minus the product of the pooled one-action pass rates (None where an
    action has no labelled event). The measured two-action APCER next to its estimate checks the
    assumption. ``nod_as_shake``: the same with each recording's nod APCER (0 where nobody nods)
    replaced by its head-turn APCER, for a replay of someone who nods as often as they turn.
    """
    clip_rates = [{a: _rate(clip.get(a)) for a in ACTIONS} for clip in per_clip]
    nod_as_shake = [{**r, "nod": r["shake"]} for r in clip_rates]
    passes = {a: _rate(bona.get(a), "Success") for a in ACTIONS}
    out: dict[str, Any] = {}
    for n, key in ((2, "2 actions"), (3, "3 actions, compressed")):
        # on the recordings long enough for these schedules, weighted as the measured figure is
        weights = [len(clip.get(key, [])) for clip in per_clip]
        combos = list(itertools.permutations(ACTIONS if n == 2 else challenge.actions, n))
        per = [_mean_product([r], combos) for r in clip_rates]
        known = [(w, p) for w, p in zip(weights, per, strict=True) if w and p is not None]
        out[f"{n}_actions_apcer_measured"] = None if not attack.get(key) else round(_rate(attack[key]) or 0.0, 5)
        out[f"{n}_actions_apcer_estimate"] = (
            round(sum(w * p for w, p in known) / sum(w for w, _ in known), 5) if known else None
        )
    for name, actions in (("all_four", ACTIONS), ("without_blink", ("mouth", "nod", "shake"))):
        combos = list(itertools.combinations(actions, min(challenge.count, len(actions))))
        both = _mean_product([passes], combos)
        out[f"{challenge.count}_of_{name}"] = {
            "apcer_estimate": _mean_product(clip_rates, combos),
            "apcer_estimate_nod_as_shake": _mean_product(nod_as_shake, combos),
            "bpcer_estimate": None if both is None or any(passes[a] is None for a in actions) else round(1 - both, 5),
        }
    return out


def own_actions(label: dict[str, Any]) -> tuple[str, ...]:
    """The default challenge actions the clip was labelled with (outside talking, for mouth)."""
    have = {e.action for e in label["events"] if not (e.action == "mouth" and _inside(e.onset_ms, label["talking"]))}
    return tuple(a for a in DEFAULT_ACTIONS if a in have)


def onset_bpcer(
    data: dict[str, Any], labels: dict[str, dict[str, Any]], config: EventConfig, challenge: ChallengeConfig
) -> dict[str, Any]:
    """BPCER of schedules fitted to each clip's length and its real onsets of the default actions."""
    out: dict[str, Any] = {}
    for split in ("tune", "heldout"):
        codes: dict[str, list[str]] = defaultdict(list)
        clips_seen: dict[str, list[bool]] = {}
        for key, sig in data.items():
            label = labels[key]
            if label["split"] != split or "times_ms" not in sig:
                continue
            events = [e for e in label["events"] if e.action in own_actions(label)]
            events = [e for e in events if not (e.action == "mouth" and _inside(e.onset_ms, label["talking"]))]
            if not events:
                continue
            detected = detect_events(sig["times_ms"], sig["raw"], config)
            duration = float(sig["duration_ms"])
            for reaction in REACTIONS_MS:
                for s in onset_schedules(events, duration, reaction, challenge):
                    v = verify_schedule(
                        s, detected, duration_ms=duration, face_times_ms=sig["times_ms"], config=challenge
                    )
                    name = "+".join(sorted(a.action for a in s.actions))
                    codes[name].append(v.code)
                    clips_seen.setdefault(key.split("/")[-1], []).append(v.live)
        refused = sum(not all(v) for v in clips_seen.values())
        every = [c for c_list in codes.values() for c in c_list]
        out[split] = {
            "schedules": len(every),
            "refused": sum(c != "Success" for c in every),
            "bpcer": round(sum(c != "Success" for c in every) / len(every), 4) if every else None,
            "clips": len(clips_seen),
            "clips_with_a_refusal": refused,
            "clip_rate_upper95": upper_bound(refused, len(clips_seen)),
            "per_clip_passed": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(clips_seen.items())},
            "by_actions": {k: dict(sorted({c: v.count(c) for c in set(v)}.items())) for k, v in sorted(codes.items())},
        }
    return out


def live_random_apcer(
    data: dict[str, Any],
    labels: dict[str, dict[str, Any]],
    config: EventConfig,
    challenge: ChallengeConfig,
    schedules: int,
    seed: int,
) -> dict[str, Any]:
    """Random schedules squeezed into each live recording, judged on timing alone (no photo floor)."""
    rng = random.Random(seed)
    out: dict[str, Any] = {}
    for split in ("tune", "heldout"):
        rows = []
        for key, sig in sorted(data.items()):
            label = labels[key]
            if label["split"] != split or "times_ms" not in sig:
                continue
            detected = detect_events(sig["times_ms"], sig["raw"], config)
            rows.append(
                judge_random(
                    {
                        "events": [[e.action, e.onset_ms, e.end_ms, e.strength] for e in detected],
                        "duration_ms": sig["duration_ms"],
                        "face_times_ms": sig["times_ms"],
                    },
                    own_actions(label),
                    schedules,
                    rng,
                    challenge,
                    floor=False,
                )
            )
        out[split] = summarise_random(rows)
    return out


# (underway_only, early_free) of ChallengeConfig
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "quiet_all": ((), ()),
    "blink_underway_only": (("blink",), ()),
    "blink_free": ((), ("blink",)),
}


def rule_variants(
    data: dict[str, Any], labels: dict[str, dict[str, Any]], config: EventConfig, schedules: int, seed: int
) -> dict[str, Any]:
    """The too-early rule's BPCER / APCER trade-off: every action in the quiet stretch, or blink exempt."""
    out: dict[str, Any] = {}
    for name, (underway_only, early_free) in RULES.items():
        cfg = replace(ChallengeConfig(), underway_only=underway_only, early_free=early_free)
        metrics = challenge_metrics(data, labels, config, cfg, schedules, seed)
        out[name] = {
            split: {
                "bpcer": {
                    a: f"{v['refused']}/{v['schedules']}" for a, v in m["bpcer_schedule_from_real_onsets"].items()
                },
                "apcer": {k: v["apcer"] for k, v in m["apcer_random_schedules"].items()},
            }
            for split, m in metrics.items()
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared-data", default=str(ROOT.parent.parent / "shared" / "data"))
    parser.add_argument("--labels", default=str(ROOT / "action_labels.csv"))
    parser.add_argument("--signals", help="JSON cache of the per-frame measures (read if present, else written)")
    parser.add_argument("--schedules", type=int, default=400, help="random schedules per recording")
    parser.add_argument("--match-ms", type=float, default=400.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--attacks", action="store_true", help="also replays and photo attacks (slow)")
    parser.add_argument("--attack-split", default="heldout", help="replay this split's clips; photos of it")
    parser.add_argument(
        "--replay-grid", action="store_true", help="replay the GRID clips too (3 s: no default schedule fits)"
    )
    parser.add_argument("--photos", type=int, default=6, help="photos; the split keeps every other one")
    parser.add_argument("--attack-schedules", type=int, default=100, help="random schedules per attack and kind")
    parser.add_argument("--attack-cache", help="JSON cache of the attacks' measures (read if present)")
    parser.add_argument("--no-rules", action="store_true", help="skip the too-early rule variants")
    parser.add_argument(
        "--turn-own-share",
        type=float,
        default=EventConfig().turn_own_share,
        help="a head turn's least own motion against its surroundings (0: the rule off)",
    )
    args = parser.parse_args()
    labels = load_labels(Path(args.labels))
    cache = Path(args.signals) if args.signals else None
    if cache is not None and cache.exists():
        data = json.loads(cache.read_text())
    else:
        from openkyc.biometrics.detection import default_detector

        detector = default_detector()
        data = {f"{folder}/{p.name}": clip_signals(p, detector) for folder, p in clips(Path(args.shared_data))}
        if cache is not None:
            cache.write_text(json.dumps(data))
    data = {k: v for k, v in data.items() if k in labels}
    config, challenge = replace(EventConfig(), turn_own_share=args.turn_own_share), ChallengeConfig()
    report: dict[str, Any] = {
        "clips": {s: sum(1 for k in data if labels[k]["split"] == s) for s in ("tune", "heldout")},
        "labels": str(Path(args.labels).name),
        "match_ms": args.match_ms,
        "event_config": {a: vars(config.of(a)) for a in ACTIONS} | {"turn_own_share": config.turn_own_share},
        "detectors": detector_metrics(data, labels, config, args.match_ms),
        "challenge": challenge_metrics(data, labels, config, challenge, args.schedules, args.seed),
        "bpcer_onset_schedules": onset_bpcer(data, labels, config, challenge),
        "apcer_live_random": live_random_apcer(data, labels, config, challenge, args.schedules // 4, args.seed),
    }
    if not args.no_rules:
        report["early_rules"] = rule_variants(data, labels, config, args.schedules, args.seed)
    if args.attacks:
        by_name = {k.split("/")[-1]: v for k, v in labels.items()}
        cache_path = Path(args.attack_cache) if args.attack_cache else None
        report["apcer_attacks"] = {
            "split": args.attack_split,
            "species": attack_apcer(
                Path(args.shared_data),
                [
                    p
                    for f, p in clips(Path(args.shared_data))
                    if labels.get(f"{f}/{p.name}", {}).get("split") == args.attack_split
                    and (args.replay_grid or f == "live-faces-varied")
                ],
                lambda name: own_actions(by_name[name]) if name in by_name else (),
                args.attack_split, args.photos, args.attack_schedules, args.seed, cache_path, config,
            ),
        }  # fmt: skip
    print(json.dumps(report, indent=1))  # noqa: T201


if __name__ == "__main__":
    main()
