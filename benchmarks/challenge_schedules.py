"""Schedules for measuring the timed challenge on real recordings (used by ``eval_challenge.py``).

- :func:`onset_schedules`: what a person answering the prompts would have been given. From a clip's
  labelled onsets of the challenge's actions (the default set: mouth, nod, head turn), one event per
  action, in time order, each prompted ``reaction`` ms before its labelled onset; windows as the
  real schedule has them (opening ``reaction_ms`` after the prompt, ``window_ms`` long), the next
  prompt no earlier than the previous window's end, the last window cut at the clip's end (the
  onset stays at least ``min_left_ms`` inside it) and the recording ending at the clip's end. The
  challenge must pass these (BPCER).
- :func:`random_fitted`: schedules drawn at random (the CSPRNG's layout, any RNG) of a given set of
  actions, squeezed to a recording's length: the lead before the first prompt (at least the real
  schedule's shortest) and the gaps are drawn over the whole room the recording leaves. A recording
  made before them must fail (APCER).
- :func:`upper_bound`: the exact (Clopper-Pearson) one-sided upper confidence bound of a rate,
  for the small counts of these sets.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import replace

from openkyc.liveness.challenge import ChallengeConfig, Event, Schedule, TimedAction, new_schedule


def onset_schedules(
    events: Sequence[Event],
    duration_ms: float,
    reaction_ms: int,
    config: ChallengeConfig,
    actions: Sequence[str] | None = None,
    min_left_ms: int = 200,
) -> list[Schedule]:
    """Every schedule of one labelled event per action of ``actions`` found in ``events`` (see module)."""
    wanted = tuple(actions or config.actions)
    by_action = {a: sorted((e for e in events if e.action == a), key=lambda e: e.onset_ms) for a in wanted}
    present = [a for a in wanted if by_action[a]]
    out: list[Schedule] = []
    for combo in itertools.product(*(by_action[a] for a in present)):
        timed: list[TimedAction] = []
        for ev in sorted(combo, key=lambda e: e.onset_ms):
            prompt = int(ev.onset_ms) - reaction_ms
            start = prompt + config.reaction_ms
            end = min(start + config.window_ms, int(duration_ms))
            if prompt < 0 or (timed and prompt < timed[-1].window_end_ms) or end - ev.onset_ms < min_left_ms:
                break
            timed.append(TimedAction(ev.action, prompt, start, end))
        else:
            if timed:
                out.append(Schedule(tuple(timed), None, int(duration_ms)))
    return out


def random_fitted(
    actions: Sequence[str],
    duration_ms: float,
    config: ChallengeConfig,
    rng: random.Random,
    min_lead_ms: int | None = None,
) -> Schedule | None:
    """A random schedule of ``actions`` (random order and times) inside ``duration_ms``, or None.

    The first prompt comes at least ``min_lead_ms`` (the configuration's shortest lead, 600 ms, by
    default) after the start, as in a drawn schedule; the gaps are at least the configuration's
    shortest; the last window ends by the end of the recording (the tail after it is cut to fit).
    """
    n = len(actions)
    lead = config.lead_ms[0] if min_lead_ms is None else min_lead_ms
    gaps = config.gap_ms[0] * (n - 1)
    need = lead + n * (config.reaction_ms + config.window_ms) + gaps
    room = int(duration_ms) - need
    if n == 0 or room < 0:
        return None
    cfg = replace(config, actions=tuple(actions), count=n, lead_ms=(lead, lead + room), gap_ms=(config.gap_ms[0],) * 2)
    drawn = new_schedule(config=cfg, rng=rng)
    # spend the room left after the lead on the gaps, at random, so later prompts move too
    spare = room - (drawn.actions[0].prompt_ms - lead)
    shifts = sorted(rng.randint(0, spare) for _ in range(n - 1))
    timed = [drawn.actions[0]]
    for a, shift in zip(drawn.actions[1:], shifts, strict=True):
        timed.append(TimedAction(a.action, a.prompt_ms + shift, a.window_start_ms + shift, a.window_end_ms + shift))
    record = min(timed[-1].window_end_ms + config.tail_ms, int(duration_ms))
    return Schedule(tuple(timed), None, record)


def _binom_cdf(k: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0 if k < n else 1.0
    lp, lq = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    return sum(
        math.exp(log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq) for i in range(k + 1)
    )


def upper_bound(k: int, n: int, confidence: float = 0.95) -> float | None:
    """One-sided exact upper bound of a rate seen ``k`` times in ``n`` (0 of 11 gives 0.238)."""
    if n <= 0:
        return None
    if k >= n:
        return 1.0
    lo, hi = k / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _binom_cdf(k, n, mid) > 1 - confidence:
            lo = mid
        else:
            hi = mid
    return round(hi, 4)
