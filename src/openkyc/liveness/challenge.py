"""Timed challenge-response liveness: a random schedule, and the check of a recording against it.

A recording made before the schedule was drawn cannot follow it: each action must *start* inside
its answer window, which opens at its prompt (times in ms from the start of recording). A mouth
opening, nod or head turn must also not have started in the ``quiet_ms`` before the window, nor
be under way at the prompt (someone who is talking, or nodding along, all the time does not
"answer" a prompt); for a nod or head turn (``new_event_actions``) a new event, starting in the
window at least ``new_event_rest_ms`` after the early one ended, still answers (someone turning
back from an earlier turn when the prompt comes, then turning as asked). A blink (``early_free``)
is judged by its onset in the window alone: people blink every few seconds, and a blink just
before the prompt is no sign of a replay (measured: docs/liveness.md). When the schedule has colours, the face's chroma must follow the flashed
sequence at the scheduled times (the reflection correlation with only ``colour_offset_ms`` of
slack), and one face must be seen throughout. The silent cues' score must reach
``min_silent_score``, a floor that stops photos (a replayed live recording may pass it: the timing
stops those).

This module is pure: :func:`new_schedule` draws a :class:`Schedule` from a random source (a CSPRNG
by default), :func:`verify_schedule` judges detected action events
(:mod:`openkyc.liveness.events`), face times, an observed colour correlation and the silent score
against it. Storage and single use are :class:`openkyc.liveness.service.ChallengeService`'s.

Schedule layout (defaults): colours, when asked for, come first (4-6 colours of 300-500 ms from
300 ms), then the 3 actions ``mouth, nod, shake`` in a random order (``actions``: blink may be
added, but it is left out by default: a recording has a blink onset in a random window most of the
time); the first prompt 600-1400 ms after the colours (or after the start), each window opens
``reaction_ms`` (150 ms) after its prompt and lasts ``window_ms`` (1500 ms); the next prompt
follows the window's end after a random 200-800 ms; the recording ends ``tail_ms`` (400 ms) after
the last window.
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openkyc.errors import InvalidParameterValue

ACTIONS: tuple[str, ...] = ("blink", "mouth", "nod", "shake")
# blink is left out of the default draw: people blink every few seconds, so a recording has a blink
# onset in a random 1.7 s window most of the time (measured: docs/liveness.md)
DEFAULT_ACTIONS: tuple[str, ...] = ("mouth", "nod", "shake")
COLOURS: dict[str, tuple[int, int, int]] = {
    "#ff0000": (255, 0, 0),
    "#00ff00": (0, 255, 0),
    "#0000ff": (0, 0, 255),
    "#ffff00": (255, 255, 0),
    "#ff00ff": (255, 0, 255),
    "#00ffff": (0, 255, 255),
}
SILENT_FLOOR = 80.0  # chosen on the tune split: docs/liveness.md, "Challenge mode against photos"
ACTION_CODES = {
    "blink": "FailedOperation.ActionCloseEye",
    "mouth": "FailedOperation.ActionOpenMouth",
    "nod": "FailedOperation.ActionNodHead",
    "shake": "FailedOperation.ActionShakeHead",
}
SUCCESS = "Success"
TOO_EARLY = "FailedOperation.ActionTooEarly"
TOO_SHORT = "FailedOperation.ChallengeTooShort"
FACE_LOST = "FailedOperation.LivessFaceLost"
REFLECT_FAIL = "FailedOperation.LivessReflectFail"
DETECT_FAIL = "FailedOperation.LivessDetectFail"


@dataclass(frozen=True)
class ChallengeConfig:
    """How schedules are drawn and judged (times in ms)."""

    actions: tuple[str, ...] = DEFAULT_ACTIONS
    count: int = 3
    lead_ms: tuple[int, int] = (600, 1400)
    reaction_ms: int = 150
    window_ms: int = 1500
    gap_ms: tuple[int, int] = (200, 800)
    tail_ms: int = 400
    colour_count: tuple[int, int] = (4, 6)
    colour_ms: tuple[int, int] = (300, 500)
    colour_start_ms: int = 300
    # judging
    onset_tolerance_ms: int = 100  # detector onset error allowed at both ends of a window
    quiet_ms: int = 400  # the action must not start in this long before its prompt
    # longer quiet stretches for some actions: a mouth answer must come from a mouth still for 1.2 s
    # (someone talking opens it every second; chosen on the tune split, docs/liveness.md)
    quiet_by_action: tuple[tuple[str, int], ...] = (("mouth", 1200),)
    underway_only: tuple[str, ...] = ()  # actions judged early only when under way at the prompt
    early_free: tuple[str, ...] = ("blink",)  # actions judged only by an onset inside the window
    # actions for which a *new* event answers the prompt even after an earlier one: an event whose
    # onset is inside the window and after the early event (in the quiet stretch, or under way at the
    # prompt) had ended; the early event alone is still too early (someone turning back from a
    # first turn when the prompt comes, then turning as asked)
    new_event_actions: tuple[str, ...] = ("nod", "shake")
    new_event_rest_ms: int = 300  # the new event starts at least this long after the early one ended
    short_tolerance_ms: int = 300  # a recording may end this much before ``record_ms``
    max_face_gap_ms: int = 1000  # longest stretch without the face inside the schedule
    min_colour_correlation: float = 0.8
    colour_offset_ms: int = 150  # recording-start slack when matching the colours
    # the silent cues' score (openkyc.liveness.silent) must reach this: a photo, held still or moved,
    # printed or on a screen, scores below it (tune: at most 50.8, live at least 93.5; a recording the
    # recapture cues cap at 25 never passes); a replayed live recording may pass (the schedule stops those)
    min_silent_score: float = SILENT_FLOOR


@dataclass(frozen=True)
class TimedAction:
    action: str
    prompt_ms: int
    window_start_ms: int
    window_end_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "prompt_ms": self.prompt_ms,
            "window_start_ms": self.window_start_ms,
            "window_end_ms": self.window_end_ms,
        }


@dataclass(frozen=True)
class TimedColour:
    color: str  # "#rrggbb"
    start_ms: int
    end_ms: int

    @property
    def rgb(self) -> tuple[int, int, int]:
        c = self.color
        return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)

    def to_dict(self) -> dict[str, Any]:
        return {"color": self.color, "start_ms": self.start_ms, "end_ms": self.end_ms}


@dataclass(frozen=True)
class Schedule:
    actions: tuple[TimedAction, ...]
    colors: tuple[TimedColour, ...] | None
    record_ms: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored and sent to the client."""
        return {
            "actions": [a.to_dict() for a in self.actions],
            "colors": None if self.colors is None else [c.to_dict() for c in self.colors],
            "record_ms": self.record_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """Parse (and validate) the JSON form; bad input raises ``InvalidParameterValue``."""
        try:
            actions = tuple(
                TimedAction(str(a["action"]), int(a["prompt_ms"]), int(a["window_start_ms"]), int(a["window_end_ms"]))
                for a in data["actions"]
            )
            raw_colours = data.get("colors")
            colours = (
                None
                if raw_colours is None
                else tuple(TimedColour(str(c["color"]), int(c["start_ms"]), int(c["end_ms"])) for c in raw_colours)
            )
            schedule = cls(actions, colours, int(data["record_ms"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidParameterValue(
                "The challenge schedule is malformed.", code="InvalidParameterValue.LivenessChallenge"
            ) from exc
        schedule.validate()
        return schedule

    def validate(self) -> None:
        bad = InvalidParameterValue(
            "The challenge schedule is malformed.", code="InvalidParameterValue.LivenessChallenge"
        )
        if not self.actions and not self.colors:
            raise bad
        for a in self.actions:
            if a.action not in ACTIONS or not 0 <= a.prompt_ms <= a.window_start_ms < a.window_end_ms:
                raise bad
            if a.window_end_ms > self.record_ms:
                raise bad
        for c in self.colors or ():
            if c.color not in COLOURS or not 0 <= c.start_ms < c.end_ms <= self.record_ms:
                raise bad


def new_schedule(
    *, reflection: bool = False, config: ChallengeConfig | None = None, rng: random.Random | None = None
) -> Schedule:
    """A fresh random schedule (``rng`` defaults to the operating system's CSPRNG)."""
    cfg = config or ChallengeConfig()
    r = rng or secrets.SystemRandom()
    t = 0
    colours: tuple[TimedColour, ...] | None = None
    if reflection:
        t = cfg.colour_start_ms
        picked: list[TimedColour] = []
        names = list(COLOURS)
        for _ in range(r.randint(*cfg.colour_count)):
            name = r.choice([c for c in names if not picked or c != picked[-1].color])
            length = r.randrange(cfg.colour_ms[0], cfg.colour_ms[1] + 1, 50)
            picked.append(TimedColour(name, t, t + length))
            t += length
        colours = tuple(picked)
    chosen = r.sample(list(cfg.actions), min(cfg.count, len(cfg.actions)))
    timed: list[TimedAction] = []
    t += r.randint(*cfg.lead_ms)
    for i, action in enumerate(chosen):
        if i:
            t += r.randint(*cfg.gap_ms)
        start = t + cfg.reaction_ms
        timed.append(TimedAction(action, t, start, start + cfg.window_ms))
        t = start + cfg.window_ms
    return Schedule(tuple(timed), colours, t + cfg.tail_ms)


@dataclass(frozen=True)
class Event:
    """One detected action: its onset (and end) in ms from the start of the recording."""

    action: str
    onset_ms: float
    end_ms: float
    strength: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "onset_ms": round(self.onset_ms),
            "end_ms": round(self.end_ms),
            "strength": round(self.strength, 4),
        }


@dataclass(frozen=True)
class ActionVerdict:
    action: str
    ok: bool
    onset_ms: float | None  # the onset accepted inside the window
    early_ms: float | None  # an onset in the quiet stretch before the prompt, if any
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "ok": self.ok,
            "onset_ms": None if self.onset_ms is None else round(self.onset_ms),
            "early_ms": None if self.early_ms is None else round(self.early_ms),
            "code": self.code,
        }


@dataclass(frozen=True)
class ChallengeVerdict:
    live: bool
    code: str
    actions: tuple[ActionVerdict, ...] = ()
    colour_correlation: float | None = None
    face_gap_ms: float = 0.0
    silent_score: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "live": self.live,
            "code": self.code,
            "actions": [a.to_dict() for a in self.actions],
            "colour_correlation": None if self.colour_correlation is None else round(self.colour_correlation, 4),
            "face_gap_ms": round(self.face_gap_ms),
            "silent_score": None if self.silent_score is None else round(self.silent_score, 2),
            **self.notes,
        }


def early_event(timed: TimedAction, events: Sequence[Event], config: ChallengeConfig) -> Event | None:
    """The event of ``timed.action`` that makes the answer too early, if any.

    Every action: an event that started before the window opened (less the onset tolerance) and
    had not ended by the prompt (under way when the prompt came: someone talking, or nodding along,
    throughout). Actions not in ``config.underway_only`` also must not start in the ``quiet_ms``
    (for the actions ``quiet_by_action`` names, its stretch) before the prompt, nor between the
    prompt and the window (anticipated, not answered); a spontaneous event that is over by the
    prompt does not count for the others (people blink every few seconds). For the actions in
    ``config.new_event_actions`` :func:`judge_action` still accepts a *new* event after this one.
    """
    if timed.action in config.early_free:
        return None
    lo = timed.window_start_ms - config.onset_tolerance_ms
    mine = sorted((e for e in events if e.action == timed.action), key=lambda e: e.onset_ms)
    if timed.action not in config.underway_only:
        quiet_from = timed.prompt_ms - dict(config.quiet_by_action).get(timed.action, config.quiet_ms)
        early = next((e for e in mine if quiet_from <= e.onset_ms < lo), None)
        if early is not None:
            return early
    return next((e for e in mine if e.onset_ms < lo and e.end_ms > timed.prompt_ms), None)


def early_onset(timed: TimedAction, events: Sequence[Event], config: ChallengeConfig) -> float | None:
    """The onset of :func:`early_event`, if any."""
    early = early_event(timed, events, config)
    return None if early is None else early.onset_ms


def judge_action(timed: TimedAction, events: Sequence[Event], config: ChallengeConfig) -> ActionVerdict:
    """The action starts inside its window and was not already under way (or anticipated) before it."""
    tol = config.onset_tolerance_ms
    lo, hi = timed.window_start_ms - tol, timed.window_end_ms + tol
    inside = next((e.onset_ms for e in sorted(events, key=lambda e: e.onset_ms)
                   if e.action == timed.action and lo <= e.onset_ms <= hi), None)  # fmt: skip
    early = early_event(timed, events, config)
    if early is not None and timed.action in config.new_event_actions:
        # a new event: its onset inside the window, after the early one had ended
        inside = next((e.onset_ms for e in sorted(events, key=lambda e: e.onset_ms)
                       if e.action == timed.action and max(lo, early.end_ms + config.new_event_rest_ms) <= e.onset_ms <= hi),
                      None)  # fmt: skip
        if inside is not None:
            return ActionVerdict(timed.action, True, inside, early.onset_ms, SUCCESS)
    if early is not None:
        return ActionVerdict(timed.action, False, inside, early.onset_ms, TOO_EARLY)
    if inside is None:
        return ActionVerdict(timed.action, False, None, None, ACTION_CODES[timed.action])
    return ActionVerdict(timed.action, True, inside, None, SUCCESS)


def longest_face_gap(face_times_ms: Sequence[float], until_ms: float) -> float:
    """The longest stretch of ``[0, until_ms]`` with no frame holding the face."""
    times = sorted(t for t in face_times_ms if t <= until_ms)
    if not times:
        return until_ms
    edges = [0.0, *times, until_ms]
    return max(b - a for a, b in itertools.pairwise(edges))


def verify_schedule(
    schedule: Schedule,
    events: Sequence[Event],
    *,
    duration_ms: float,
    face_times_ms: Sequence[float],
    colour_correlation: float | None = None,
    silent_score: float | None = None,
    config: ChallengeConfig | None = None,
) -> ChallengeVerdict:
    """Judge a recording's detected events (and colour correlation, when colours were flashed).

    ``silent_score`` is the silent cues' score of the recording (``None``: not judged, as the
    benchmarks do when they measure the timing rules alone); below ``min_silent_score`` the
    recording is a photo: ``FailedOperation.LivessDetectFail``.
    """
    cfg = config or ChallengeConfig()
    if duration_ms + cfg.short_tolerance_ms < schedule.record_ms:
        return ChallengeVerdict(False, TOO_SHORT, notes={"duration_ms": round(duration_ms)})
    gap = longest_face_gap(face_times_ms, min(duration_ms, schedule.record_ms))
    verdicts = tuple(judge_action(a, events, cfg) for a in schedule.actions)
    code = SUCCESS
    if gap > cfg.max_face_gap_ms:
        code = FACE_LOST
    elif silent_score is not None and silent_score < cfg.min_silent_score:
        code = DETECT_FAIL
    elif schedule.colors and (colour_correlation is None or colour_correlation < cfg.min_colour_correlation):
        code = REFLECT_FAIL
    else:
        code = next((v.code for v in verdicts if not v.ok), SUCCESS)
    return ChallengeVerdict(code == SUCCESS, code, verdicts, colour_correlation, gap, silent_score)


def expected_chroma(colours: Sequence[TimedColour], t_ms: float) -> tuple[float, float, float] | None:
    """The normalised chroma the flashed colour predicts at ``t_ms`` (None outside the colours)."""
    for c in colours:
        if c.start_ms <= t_ms < c.end_ms:
            rgb = [v + 30.0 for v in c.rgb]  # ambient light
            total = sum(rgb)
            return rgb[0] / total, rgb[1] / total, rgb[2] / total
    return None


def colour_correlation(
    observed: Sequence[Sequence[float]],
    times_ms: Sequence[float],
    colours: Sequence[TimedColour],
    config: ChallengeConfig | None = None,
) -> tuple[float, float]:
    """(best correlation, its offset in ms) of the face's chroma against the scheduled colours.

    ``observed`` is the face-minus-frame chroma per frame (:func:`openkyc.liveness.reflection.face_chroma`);
    only ``colour_offset_ms`` of recording-start slack is tried, in 50 ms steps.
    """

    cfg = config or ChallengeConfig()
    best, best_off = -1.0, 0.0
    for off in range(-cfg.colour_offset_ms, cfg.colour_offset_ms + 1, 50):
        pairs = [(o, expected_chroma(colours, t + off)) for o, t in zip(observed, times_ms, strict=True)]
        kept = [(o, e) for o, e in pairs if e is not None]
        if len(kept) < 4:
            continue
        obs = np.array([o for o, _ in kept], dtype=np.float64)
        exp = np.array([e for _, e in kept], dtype=np.float64)
        obs -= obs.mean(axis=0)
        exp -= exp.mean(axis=0)
        denom = float(np.linalg.norm(obs) * np.linalg.norm(exp))
        corr = float((obs * exp).sum() / denom) if denom > 0 else 0.0
        if corr > best:
            best, best_off = corr, float(off)
    return best, best_off
