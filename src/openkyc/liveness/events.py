"""Action events with onset times: every blink, mouth opening, nod and head turn in a face track.

The timed challenge (:mod:`openkyc.liveness.challenge`) needs *when* each action started, not just
whether it happened somewhere. Each action has a per-frame deviation signal built from YuNet's 5
keypoints and the image (nod and head turn from the same pose proxies as :mod:`openkyc.liveness.action`):

- ``blink``: the running median of the iris darkness minus its value: on a face crop aligned on the
  eyes (inter-eye distance 36 px), the darkest point of each blurred eye box (the iris and pupil)
  relative to the cheek below the nose; closed lids hide the iris and the darkness drops;
- ``mouth``: the relative rise of the mouth's contrast (:func:`mouth_contrast`: parted lips show a
  dark gap or bright teeth, either raises it) over its median in the second before (a causal
  baseline: a smile held open for seconds still has the onset where it opened). The older measure,
  the darkness of the lip gap against the clip's 10th percentile, missed every labelled opening of
  the tune split: teeth make the gap bright, and a clip-wide baseline let the event start seconds
  early;
- ``nod``: ``|pitch - running median|`` (nose depth between the eye and mouth lines), as blink and
  mouth below (nobody nods in the annotated footage; the window rule found nods in hand-held
  screen replays, so the nod is not in ``window_actions``);
- ``shake``: the yaw proxy (nose offset from the eye midpoint, in inter-eye distances) through a
  3-sample median, moving ``high`` within ``pose_window_ms`` (1.5 s) (:func:`pose_events`). The onset is
  back-tracked to where the pose left its starting value by ``low``: where the head starts to
  move, not where a deviation crosses a threshold; the event ends at the farthest point, so a
  turn and the turn back are two events. ``high`` is raised to ``pose_noise_factor`` times the
  keypoints' own frame-to-frame jitter where that is larger (a small, blurred or three-quarter
  face). The older rule, ``|pose - centred running median|``, followed a slow turn (a ramp has
  its running median at its own value) and found it late or not at all (``pose_rule="median"``).
  A turn must also move the face against its surroundings (:func:`moves_against_surroundings`,
  ``turn_own_share``): a hand-held screen moves the replayed face and what is around it together.

For blink, mouth and nod an event is a stretch where the deviation stays at or above ``low`` and
reaches ``high``; its onset is the time the signal crossed ``low`` (interpolated between the two
samples around the crossing), its end the time it fell back below. Stretches closer than
``merge_ms`` are one event. Running medians span ``baseline_ms`` either side, so slow drifts of
light or posture are not events.
Thresholds were set on the tuning part of the annotated clips only (``benchmarks/action_labels.csv``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from openkyc.biometrics.types import Face, Image
from openkyc.liveness.challenge import Event
from openkyc.liveness.surroundings import face_against_surroundings
from openkyc.liveness.track import FaceTrack

ALIGNED_EYE_DISTANCE = 36.0


@dataclass(frozen=True)
class Threshold:
    high: float
    low: float


@dataclass(frozen=True)
class EventConfig:
    blink: Threshold = Threshold(0.04, 0.028)
    mouth: Threshold = Threshold(0.15, 0.07)
    # nod: |pitch - centred running median| (nobody nods in the annotated footage: unchanged, and
    # the window rule found nods in hand-held screen replays); shake: ``high`` the change within
    # ``pose_window_ms``, ``low`` where the motion starts
    nod: Threshold = Threshold(0.12, 0.06)
    shake: Threshold = Threshold(0.14, 0.03)
    baseline_ms: float = 1500.0
    merge_ms: float = 150.0
    # the mouth's baseline: the median of the samples from ``mouth_back_ms`` to ``mouth_skip_ms`` before
    mouth_back_ms: float = 1000.0
    mouth_skip_ms: float = 150.0
    # nod and head turn (:func:`pose_events`): the (3-sample median) pose proxy moving ``high`` within
    # ``pose_window_ms`` (a slow turn counts in full; a centred running median hid it); the onset is
    # where the pose left its starting value by ``low``, not where a deviation crossed a threshold
    pose_window_ms: float = 1500.0
    pose_still_ms: float = 300.0
    # the keypoints' own jitter (median frame-to-frame change of the raw proxy) times this is the
    # least change that counts: jitter grows as the face shrinks, blurs or turns to three-quarter
    pose_noise_factor: float = 8.0
    pose_rule: str = "window"  # "median": the older |pose - centred running median| for every pose action
    # the actions judged by the window rule; the others keep |pose - centred running median|
    window_actions: tuple[str, ...] = ("shake",)
    # a head turn must move the face against its surroundings (:mod:`openkyc.liveness.surroundings`):
    # over the event, the nose's own motion must be at least ``turn_own_share`` of its motion
    # (own + carried by the surroundings' rigid motion); 0 disables the rule
    turn_own_share: float = 0.7

    def of(self, action: str) -> Threshold:
        threshold: Threshold = getattr(self, action)
        return threshold


def running_median(times_ms: Sequence[float], values: Sequence[float], half_ms: float) -> list[float]:
    t = np.asarray(times_ms, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    out = []
    for ti in t:
        near = v[np.abs(t - ti) <= half_ms]
        out.append(float(np.median(near)))
    return out


def causal_median(times_ms: Sequence[float], values: Sequence[float], back_ms: float, skip_ms: float) -> list[float]:
    """Per sample, the median of the samples from ``back_ms`` to ``skip_ms`` before it.

    Where fewer than 3 samples lie there (the first second), the median of the first 3 samples.
    """
    t = np.asarray(times_ms, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    start = float(np.median(v[:3])) if len(v) else 0.0
    out = []
    for ti in t:
        near = v[(t <= ti - skip_ms) & (t >= ti - back_ms)]
        out.append(float(np.median(near)) if len(near) >= 3 else start)
    return out


def deviations(
    times_ms: Sequence[float], raw: Mapping[str, Sequence[float]], config: EventConfig | None = None
) -> dict[str, list[float]]:
    """Per-action deviation signals from raw per-frame measures (``eye, mouth, pitch, yaw``)."""
    cfg = config or EventConfig()
    out: dict[str, list[float]] = {}
    if "eye" in raw:
        base = running_median(times_ms, raw["eye"], cfg.baseline_ms)
        out["blink"] = [b - v for v, b in zip(raw["eye"], base, strict=True)]
    if "mouth" in raw:
        base = causal_median(times_ms, raw["mouth"], cfg.mouth_back_ms, cfg.mouth_skip_ms)
        out["mouth"] = [v / b - 1.0 if b > 0 else 0.0 for v, b in zip(raw["mouth"], base, strict=True)]
    for action, key in (("nod", "pitch"), ("shake", "yaw")):
        if key in raw:
            if cfg.pose_rule == "window" and action in cfg.window_actions:
                out[action] = window_change(times_ms, median3(raw[key]), cfg.pose_window_ms)[0]
            else:
                base = running_median(times_ms, raw[key], cfg.baseline_ms)
                out[action] = [abs(v - b) for v, b in zip(raw[key], base, strict=True)]
    return out


def median3(values: Sequence[float]) -> list[float]:
    """Each sample replaced by the median of it and its two neighbours (one-frame keypoint glitches)."""
    v = list(values)
    return [float(np.median(v[max(0, i - 1) : i + 2])) for i in range(len(v))]


def window_change(
    times_ms: Sequence[float], values: Sequence[float], window_ms: float
) -> tuple[list[float], list[int]]:
    """Per sample, the largest ``|value - earlier value|`` within ``window_ms`` before it, and that earlier sample."""
    change: list[float] = []
    start: list[int] = []
    j0 = 0
    for i, (ti, vi) in enumerate(zip(times_ms, values, strict=True)):
        while times_ms[j0] < ti - window_ms:
            j0 += 1
        j = max(range(j0, i + 1), key=lambda k: abs(vi - values[k]))
        change.append(abs(vi - values[j]))
        start.append(j)
    return change, start


def leave_onset(times_ms: Sequence[float], values: Sequence[float], start: int, stop: int, rest: float) -> float:
    """When ``values`` leaves ``values[start]`` for good on its way to ``values[stop]``.

    The last sample between ``start`` and ``stop`` still within ``rest`` of the starting value,
    interpolated to where the signal crosses ``rest`` on to the next sample: the motion's onset,
    where the signal leaves its baseline (not where it crosses a detection threshold).
    """
    sign = 1.0 if values[stop] >= values[start] else -1.0
    last = start
    for k in range(start, stop + 1):
        if sign * (values[k] - values[start]) <= rest:
            last = k
    if last >= stop:
        return float(times_ms[stop])
    d0 = sign * (values[last] - values[start])
    d1 = sign * (values[last + 1] - values[start])
    frac = (rest - d0) / (d1 - d0) if d1 != d0 else 0.0
    return float(times_ms[last] + min(max(frac, 0.0), 1.0) * (times_ms[last + 1] - times_ms[last]))


def pose_events(
    action: str, times_ms: Sequence[float], raw: Sequence[float], threshold: Threshold, config: EventConfig
) -> list[Event]:
    """Nods or head turns: the pose proxy moves ``threshold.high`` within ``pose_window_ms``.

    Scanning forward, a motion is found at the first sample whose change from an earlier sample of
    the last ``pose_window_ms`` (none before the previous motion's end) reaches ``high``; its onset
    is back-tracked to where the pose left that earlier value by ``threshold.low``
    (:func:`leave_onset`), and it ends at its farthest point: where the pose stops moving away (it
    comes back by ``low``, or makes no new extreme for ``pose_still_ms``). A head turned and brought
    back is two motions; motions closer than ``merge_ms`` are one event.
    """
    values = median3(raw)
    t = list(times_ms)
    n = len(values)
    jitter = float(np.median(np.abs(np.diff(np.asarray(raw, dtype=np.float64))))) if n > 1 else 0.0
    high = max(threshold.high, config.pose_noise_factor * jitter)
    events: list[Event] = []
    floor = 0  # no motion starts before the previous one ended
    i = 0
    while i < n:
        j0 = floor
        while t[j0] < t[i] - config.pose_window_ms:
            j0 += 1
        s = max(range(j0, i + 1), key=lambda k: abs(values[i] - values[k]))
        if abs(values[i] - values[s]) < high:
            i += 1
            continue
        sign = 1.0 if values[i] > values[s] else -1.0
        onset = leave_onset(t, values, s, i, threshold.low)
        far = i
        k = i + 1
        while k < n and sign * (values[far] - values[k]) <= threshold.low and t[k] - t[far] <= config.pose_still_ms:
            if sign * (values[k] - values[far]) > 0:
                far = k
            k += 1
        strength = abs(values[far] - values[s])
        end = float(t[far])
        if events and onset - events[-1].end_ms < config.merge_ms:
            prev = events[-1]
            events[-1] = Event(action, prev.onset_ms, end, max(prev.strength, strength))
        else:
            events.append(Event(action, onset, end, float(strength)))
        floor = far
        i = far + 1
    return events


def events_from_signal(
    action: str, times_ms: Sequence[float], deviation: Sequence[float], threshold: Threshold, merge_ms: float = 150.0
) -> list[Event]:
    """Stretches at or above ``threshold.low`` that reach ``threshold.high``, with interpolated onsets."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, d in enumerate(deviation):
        if d >= threshold.low:
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    events: list[Event] = []
    for run in runs:
        peak = max(deviation[i] for i in run)
        if peak < threshold.high:
            continue
        first, last = run[0], run[-1]
        onset = float(times_ms[first])
        if first > 0:
            d0, d1 = deviation[first - 1], deviation[first]
            frac = (threshold.low - d0) / (d1 - d0) if d1 != d0 else 1.0
            onset = float(times_ms[first - 1] + frac * (times_ms[first] - times_ms[first - 1]))
        end = float(times_ms[last + 1]) if last + 1 < len(times_ms) else float(times_ms[last])
        if events and onset - events[-1].end_ms < merge_ms:
            prev = events[-1]
            events[-1] = Event(action, prev.onset_ms, end, max(prev.strength, peak))
        else:
            events.append(Event(action, onset, end, float(peak)))
    return events


def aligned_face(image: Image, face: Face) -> Image:
    """The face warped so that the eyes sit at (30, 40) and (66, 40) of a 96 x 112 crop."""
    k = face.keypoints
    (x1, y1), (x2, y2) = k.right_eye, k.left_eye
    dx, dy = x2 - x1, y2 - y1
    length = max(math.hypot(dx, dy), 1e-6)
    scale = ALIGNED_EYE_DISTANCE / length
    c, s = dx / length * scale, dy / length * scale
    m = np.array([[c, s, 0.0], [-s, c, 0.0]], dtype=np.float32)
    m[:, 2] = np.array([30.0, 40.0], dtype=np.float32) - m[:, :2] @ np.array([x1, y1], dtype=np.float32)
    return np.asarray(cv2.warpAffine(image, m, (96, 112), flags=cv2.INTER_AREA), dtype=np.uint8)


def iris_darkness(aligned: Image) -> float:
    """``1 - darkest blurred eye point / cheek median`` on an :func:`aligned_face` crop."""
    grey = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY).astype(np.float32)
    blurred = cv2.GaussianBlur(grey, (0, 0), 1.6)
    darkest = [float(blurred[35:46, cx - 7 : cx + 8].min()) for cx in (30, 66)]
    ref = float(np.median(grey[48:64, 38:58]))
    if ref <= 0.0:
        return 0.0
    return 1.0 - float(np.mean(darkest)) / ref


def mouth_contrast(aligned: Image) -> float:
    """Contrast of the mouth on an :func:`aligned_face` crop: grey-level deviation / cheek median.

    The box (x 30-66, y 74-99) holds the lips of a frontal face whatever the mouth does; closed lips
    are a smooth band with one dark line, parted lips add a dark gap or bright teeth.
    """
    grey = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY).astype(np.float32)
    mouth = cv2.GaussianBlur(grey, (0, 0), 1.0)[74:100, 30:67]
    ref = float(np.median(grey[48:64, 38:58]))
    if ref <= 0.0:
        return 0.0
    return float(mouth.std()) / ref


def raw_measures(track: FaceTrack) -> tuple[list[float], dict[str, list[float]]]:
    """Frame times (ms) and the raw per-frame measures of a track."""
    times = [f.time_s * 1000.0 for f in track.faces]
    raw: dict[str, list[float]] = {"eye": [], "mouth": [], "pitch": [], "yaw": []}
    for f in track.faces:
        aligned = aligned_face(track.image(f), f.face)
        raw["eye"].append(iris_darkness(aligned))
        raw["mouth"].append(mouth_contrast(aligned))
        raw["pitch"].append(f.pitch)
        raw["yaw"].append(f.yaw)
    raw["rel_x"], raw["bg_x"] = face_against_surroundings(
        [track.image(f) for f in track.faces], [f.face for f in track.faces]
    )
    return times, raw


def detect_events(
    times_ms: Sequence[float],
    raw: Mapping[str, Sequence[float]],
    config: EventConfig | None = None,
    actions: Sequence[str] = ("blink", "mouth", "nod", "shake"),
) -> list[Event]:
    """Every event of ``actions``, sorted by onset."""
    cfg = config or EventConfig()
    devs = deviations(times_ms, raw, cfg)
    found: list[Event] = []
    for action in actions:
        key = {"nod": "pitch", "shake": "yaw"}.get(action)
        if cfg.pose_rule == "window" and action in cfg.window_actions and key is not None and key in raw:
            moved = pose_events(action, times_ms, raw[key], cfg.of(action), cfg)
            if action == "shake":
                moved = [e for e in moved if moves_against_surroundings(e, times_ms, raw, cfg.turn_own_share)]
            found.extend(moved)
        elif action in devs:
            found.extend(events_from_signal(action, times_ms, devs[action], cfg.of(action), cfg.merge_ms))
    return sorted(found, key=lambda e: e.onset_ms)


def moves_against_surroundings(
    event: Event, times_ms: Sequence[float], raw: Mapping[str, Sequence[float]], share: float
) -> bool:
    """Whether the face's own motion over ``event`` is at least ``share`` of all its motion.

    The motion is the horizontal travel of the nose from the event's onset to its end, split into
    what the surroundings' rigid motion explains (``bg_x``) and the rest (``rel_x``), both
    cumulative per frame (:func:`openkyc.liveness.surroundings.face_against_surroundings`). Without
    these measures (or with ``share`` 0) every event passes.
    """
    if share <= 0.0 or "rel_x" not in raw or "bg_x" not in raw:
        return True
    t = np.asarray(times_ms, dtype=np.float64)
    i = max(int(np.searchsorted(t, event.onset_ms, side="right")) - 1, 0)
    j = min(max(int(np.searchsorted(t, event.end_ms, side="left")), i), len(t) - 1)
    own = abs(raw["rel_x"][j] - raw["rel_x"][i])
    carried = abs(raw["bg_x"][j] - raw["bg_x"][i])
    total = own + carried
    return total <= 0.0 or own >= share * total


def track_events(track: FaceTrack, config: EventConfig | None = None) -> list[Event]:
    times, raw = raw_measures(track)
    return detect_events(times, raw, config)
