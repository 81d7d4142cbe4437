"""Presentations for the challenge benchmark: live recordings and attacks, judged against schedules.

:func:`attack_signals` makes the attacks at run time (never stored) and measures them exactly as
``LivenessChecker.check(mode="challenge")`` does: decoded at challenge mode's sampling (15 fps, up
to 180 frames), the face tracked with the checker's track rules, the action events detected and the
silent score taken (the photo floor). Species: the screen replays of ``tests/liveness/replays.py``
of each live clip of the split, and the photo attacks of ``tests/liveness/attacks.py`` (as long as
the clips, 6 s). :func:`judge_random` verifies random schedules, drawn after the recording was made,
against one presentation.
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
from challenge_schedules import random_fitted, upper_bound

from openkyc.errors import OpenKYCError
from openkyc.liveness.challenge import DEFAULT_ACTIONS, ChallengeConfig, Event, verify_schedule
from openkyc.liveness.checker import LivenessConfig, challenge_limits
from openkyc.liveness.events import EventConfig, detect_events, raw_measures
from openkyc.liveness.silent import silent_evidence
from openkyc.liveness.track import build_track
from openkyc.liveness.video import decode_video

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "liveness"))

import attacks  # noqa: E402
import replays  # noqa: E402

ONE_ACTION = ("blink", "mouth", "nod", "shake")
PHOTO_SECONDS = 6.0


def measure(video: bytes, detector: Any, config: LivenessConfig) -> dict[str, Any]:
    """Events, face times, duration and silent score of one video, as challenge mode measures them."""
    decoded = decode_video(video, challenge_limits(config.limits, config))
    try:
        track = build_track(decoded.frames, detector, config=config.track)
    except OpenKYCError as exc:
        return {"error": exc.error_code, "duration_ms": decoded.duration_s * 1000.0}
    times, raw = raw_measures(track)
    events = detect_events(times, raw, config.events)
    return {
        "duration_ms": decoded.duration_s * 1000.0,
        "face_times_ms": [f.time_s * 1000.0 for f in track.faces],
        "events": [[e.action, e.onset_ms, e.end_ms, e.strength] for e in events],
        # the raw measures too, so that a later event rule is judged without remaking the attacks
        "times_ms": times,
        "raw": raw,
        "silent_score": silent_evidence(track, config.silent).score,
    }


def attack_signals(
    shared: Path, clip_paths: Sequence[Path], photos: int, photo_split: str | None, detector: Any
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(species, source, measures) for every replay of ``clip_paths`` and every photo attack."""
    config = LivenessConfig()
    for i, path in enumerate(clip_paths):
        frames, times = replays.read_timed(path)
        for kind in replays.REPLAYS:
            video = replays.replay(frames, times, 1000 + i, kind)
            yield f"replay_{kind}", path.name, measure(video, detector, config)
    for i, path in enumerate(attacks.attack_photos(shared, photos)):
        if photo_split is not None and ("tune" if i % 2 == 0 else "heldout") != photo_split:
            continue
        image = cv2.imread(str(path))
        for kind in attacks.ATTACKS:
            make = getattr(attacks, f"{kind}_attack")
            video = make(image, i, seconds=PHOTO_SECONDS)
            yield f"photo_{kind}", f"photo{i}", measure(video, detector, config)


def as_events(rows: Sequence[Sequence[Any]]) -> list[Event]:
    return [Event(str(a), float(o), float(e), float(s)) for a, o, e, s in rows]


def judge_random(
    sig: dict[str, Any],
    own_actions: Sequence[str],
    schedules: int,
    rng: random.Random,
    challenge: ChallengeConfig,
    floor: bool,
) -> dict[str, list[bool]]:
    """Per schedule kind, whether each random schedule accepted the presentation.

    Kinds: ``default``: the default actions (mouth, nod, head turn) at random times squeezed into
    the recording (first prompt at least 300 ms in); ``own``: the default actions the recording's source was labelled with (what the
    real-onset BPCER schedules ask); ``one:<action>``: one action. ``floor``: also judge the silent
    score (challenge mode does; the live recordings' figures are timing alone). A presentation
    without a usable face track is judged with no face and no event: it accepts nothing.
    """
    out: dict[str, list[bool]] = {}
    refused = "error" in sig  # no usable face track: judged as challenge mode would, refused
    events = [] if refused else as_events(sig["events"])
    faces: list[float] = [] if refused else sig["face_times_ms"]
    duration = float(sig["duration_ms"])
    score = (0.0 if refused else float(sig["silent_score"])) if floor else None
    # the default actions do not fit a 6 s recording with the real shortest lead (600 ms): 300 ms
    kinds: list[tuple[str, tuple[str, ...], int | None]] = [("default", DEFAULT_ACTIONS, 300)]
    if own_actions:
        kinds.append(("own", tuple(own_actions), None))
    kinds += [(f"one:{a}", (a,), None) for a in ONE_ACTION]
    for name, actions, lead in kinds:
        for _ in range(schedules):
            drawn = random_fitted(actions, duration, challenge, rng, lead)
            if drawn is None:
                break
            verdict = verify_schedule(
                drawn,
                events,
                duration_ms=duration,
                face_times_ms=faces,
                silent_score=score,
                config=challenge,
            )
            out.setdefault(name, []).append(verdict.live)
    return out


def _share(values: list[bool]) -> dict[str, Any]:
    return {"schedules": len(values), "accepted": sum(values), "apcer": round(sum(values) / len(values), 4)}


def summarise_random(per_presentation: list[dict[str, list[bool]]]) -> dict[str, Any]:
    """Per schedule kind: schedules accepted, and presentations accepted by any schedule (with bound).

    Schedules drawn against one recording are not independent trials: the confidence bound is taken
    over presentations (the share of them that any of their schedules accepted).
    """
    kinds = sorted({k for p in per_presentation for k in p})
    out: dict[str, Any] = {"presentations": len(per_presentation)}
    for kind in kinds:
        mine = [p[kind] for p in per_presentation if p.get(kind)]
        flat = [v for m in mine for v in m]
        hit = sum(any(m) for m in mine)
        out[kind] = {
            **_share(flat),
            "presentations_judged": len(mine),
            "presentations_ever_accepted": hit,
            "presentation_rate_upper95": upper_bound(hit, len(mine)),
            "schedule_apcer_upper95_if_independent": upper_bound(sum(flat), len(flat)),
        }
    return out


def attack_apcer(
    shared: Path,
    paths: Sequence[Path],
    own: Callable[[str], tuple[str, ...]],
    split: str,
    photos: int,
    schedules: int,
    seed: int,
    cache: Path | None,
    events_config: EventConfig | None = None,
) -> dict[str, Any]:
    """Random schedules against replays of the split's live clips and photo attacks, per species."""
    if cache is not None and cache.exists():
        rows = json.loads(cache.read_text())
    else:
        from openkyc.biometrics.detection import default_detector

        rows = [[sp, src, sig] for sp, src, sig in attack_signals(shared, paths, photos, split, default_detector())]
        if cache is not None:
            cache.write_text(json.dumps(rows))
    rng = random.Random(seed)
    challenge = ChallengeConfig()
    per: dict[str, dict[str, list[dict[str, list[bool]]]]] = defaultdict(lambda: defaultdict(list))
    floor_passed: dict[str, list[bool]] = defaultdict(list)
    events_config = events_config or LivenessConfig().events
    for species, source, sig in rows:
        if "raw" in sig:  # events from the cached raw measures, by the current rules
            detected = detect_events(sig["times_ms"], sig["raw"], events_config)
            sig = {**sig, "events": [[e.action, e.onset_ms, e.end_ms, e.strength] for e in detected]}
        floor_passed[species].append("error" not in sig and sig["silent_score"] >= challenge.min_silent_score)
        for gated in (True, False):
            per[species]["with_floor" if gated else "timing_alone"].append(
                judge_random(sig, own(source), schedules, rng, challenge, floor=gated)
            )
    # every replay species together, and every photo species: more presentations, a tighter bound
    for pooled in ("replay", "photo"):
        members = [sp for sp in list(per) if sp.startswith(f"{pooled}_")]
        for how in ("with_floor", "timing_alone"):
            per[f"all_{pooled}s"][how] = [p for sp in members for p in per[sp][how]]
        floor_passed[f"all_{pooled}s"] = [v for sp in members for v in floor_passed[sp]]
    return {
        species: {
            "presentations": len(floor_passed[species]),
            "pass_the_floor": sum(floor_passed[species]),
            "no_face_track": sum("error" in sig for sp, _, sig in rows if species in (sp, f"all_{sp.split('_')[0]}s")),
            **{how: summarise_random(v) for how, v in per[species].items()},
        }
        for species in sorted(per)
    }
