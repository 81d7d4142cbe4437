"""Action liveness: blink, open mouth, nod, shake, each seen in the order asked.

Only YuNet's 5 keypoints (MIT) and image analysis are used; no landmark model (dlib's 68-point
predictor is non-commercial; MediaPipe's face-mesh model needs ``opencv-contrib-python`` and
``jax``, which would replace the project's OpenCV build, so it is not used).

- ``nod``: the pitch proxy (nose depth between the eye line and the mouth line) must move at least
  ``nod_range`` away from its starting value;
- ``shake``: the yaw proxy (nose offset from the eye midpoint, in inter-eye distances) must span at
  least ``shake_range``;
- ``mouth``: the mouth opening, the darkness of the darkest row of a box below the mouth-corner
  line (the lip gap; an open mouth shows its dark inside), ``1 - darkest row mean / nose patch
  median``, both sized by the inter-eye distance. The amplitude of change across the clip, its 95th
  minus its 10th percentile (the speaker's own closed baseline), must reach ``mouth_rise``, and
  the action is placed at the first frame that far above the baseline. A photo, even of an open
  mouth, keeps a constant opening; the silent cues, which run first, reject hand-held photos;
- ``blink``: eye openness, the contrast (standard deviation) of the eye patches relative to the
  face patch, must dip below ``blink_dip`` of its median and come back.

Each action's evidence is the frame time where it was seen; the next action is searched for after
it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from openkyc.biometrics.types import Image
from openkyc.liveness.track import FaceTrack, TrackedFace

ACTIONS = ("blink", "mouth", "nod", "shake")
ACTION_CODES = {
    "blink": "FailedOperation.ActionCloseEye",
    "mouth": "FailedOperation.ActionOpenMouth",
    "nod": "FailedOperation.ActionNodHead",
    "shake": "FailedOperation.ActionShakeHead",
}


@dataclass(frozen=True)
class ActionConfig:
    nod_range: float = 0.12
    shake_range: float = 0.30
    mouth_rise: float = 0.10
    blink_dip: float = 0.72


@dataclass(frozen=True)
class ActionEvidence:
    action: str
    seen: bool
    at_s: float | None
    measure: float  # the range / rise / dip that was measured
    required: float

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "seen": self.seen,
            "at_s": None if self.at_s is None else round(self.at_s, 3),
            "measure": round(self.measure, 4),
            "required": self.required,
        }


def _box(image: npt.NDArray[Any], cx: float, cy: float, half_w: float, half_h: float) -> npt.NDArray[Any]:
    h, w = image.shape[:2]
    x0, x1 = max(0, int(cx - half_w)), min(w, int(cx + half_w))
    y0, y1 = max(0, int(cy - half_h)), min(h, int(cy + half_h))
    return image[y0:y1, x0:x1]


def mouth_opening(image: Image, t: TrackedFace) -> float:
    """Darkness of the darkest row below the mouth-corner line: ``1 - row mean / nose median``.

    Boxes are sized by the inter-eye distance ``d`` (stable while the mouth corners move): the
    mouth box is ``0.5 d`` wide and ``0.7 d`` high, centred ``0.1 d`` below the corners' midpoint.
    """
    k = t.face.keypoints
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    d = max(abs(k.left_eye[0] - k.right_eye[0]), 1.0)
    cx, cy = (k.mouth_left[0] + k.mouth_right[0]) / 2, (k.mouth_left[1] + k.mouth_right[1]) / 2
    mouth = _box(grey, cx, cy + 0.1 * d, 0.25 * d, 0.35 * d)
    face = _box(grey, k.nose[0], k.nose[1], 0.3 * d, 0.2 * d)
    if mouth.size == 0 or face.size == 0:
        return 0.0
    ref = float(np.median(face))
    if ref <= 0.0:
        return 0.0
    return float(1.0 - mouth.mean(axis=1).min() / ref)


def eye_openness(image: Image, t: TrackedFace) -> float:
    """Contrast of the two eye patches relative to the cheek/nose patch."""
    k = t.face.keypoints
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    d = max(abs(k.left_eye[0] - k.right_eye[0]), 1.0)
    eyes = [_box(grey, x, y, 0.22 * d, 0.12 * d) for x, y in (k.right_eye, k.left_eye)]
    ref = _box(grey, k.nose[0], k.nose[1] - 0.2 * d, 0.3 * d, 0.2 * d)
    if any(e.size == 0 for e in eyes) or ref.size == 0:
        return 0.0
    return float(np.mean([e.std() for e in eyes]) / (ref.std() + 8.0))


def _first_after(values: Sequence[float], start: int, test: object) -> int | None:
    for i in range(start, len(values)):
        if test(values[i]):  # type: ignore[operator]
            return i
    return None


def detect_action(track: FaceTrack, action: str, start: int, config: ActionConfig) -> tuple[ActionEvidence, int]:
    """Look for ``action`` from face index ``start``; return its evidence and the next start."""
    faces = track.faces[start:]
    if len(faces) < 2:
        return ActionEvidence(action, False, None, 0.0, 0.0), len(track.faces)
    if action in ("nod", "shake"):
        values = [f.pitch if action == "nod" else f.yaw for f in faces]
        base = float(np.median(values[: max(1, min(3, len(values)))]))
        need = config.nod_range if action == "nod" else config.shake_range / 2
        dev = [abs(v - base) for v in values]
        hit = _first_after(dev, 0, lambda v: v >= need)
        if action == "shake":
            measure = float(max(values) - min(values))
            need = config.shake_range
            if measure < need:
                hit = None
        else:
            measure = float(max(dev))
    elif action == "mouth":
        values = [mouth_opening(track.image(f), f) for f in faces]
        low = float(np.percentile(values, 10))
        need = config.mouth_rise
        measure = float(np.percentile(values, 95)) - low
        hit = _first_after(values, 0, lambda v: v - low >= need) if measure >= need else None
    else:  # blink
        values = [eye_openness(track.image(f), f) for f in faces]
        med = float(np.median(values))
        need = config.blink_dip
        ratio = [v / med if med > 0 else 1.0 for v in values]
        hit = _first_after(ratio, 1, lambda r: r <= need)
        if hit is not None and hit + 1 < len(ratio) and min(ratio[hit + 1 :], default=1.0) > 1.5:
            hit = None
        measure = float(min(ratio)) if ratio else 1.0
    if hit is None:
        return ActionEvidence(action, False, None, measure, need), len(track.faces)
    return ActionEvidence(action, True, faces[hit].time_s, measure, need), start + hit + 1


def check_actions(
    track: FaceTrack, actions: Sequence[str], config: ActionConfig | None = None
) -> tuple[ActionEvidence, ...]:
    """Evidence for each action in order; the first unseen one decides the failure code."""
    cfg = config or ActionConfig()
    start = 0
    out: list[ActionEvidence] = []
    for action in actions:
        ev, start = detect_action(track, action, start, cfg)
        out.append(ev)
    return tuple(out)
