"""Silent (passive) liveness: evidence that a camera saw a live face, not a photo or a screen.

Main cue, **non-rigid motion**. A photo, printed or on a screen, is a plane: whatever the hand
does, one homography maps the face in one frame onto the face some 0.4 s later. For pairs of
sampled frames, feature points inside and around the face are tracked (pyramidal Lucas-Kanade),
a homography is fitted (RANSAC), the later frame is warped back, and the grey-level residual of
the normalised face crop is measured. A live face (talking, blinking, turning in 3-D) leaves
*local* residual (98th percentile minus median of the blurred residual map); a plane leaves only
noise. ``nonrigid`` is the upper quartile (``quantile`` 75) over up to 12 pairs: a live person
sitting still (a dim webcam, a slow turn) moves non-rigidly in a quarter of the pairs, not in half.

Recapture cues (:mod:`openkyc.liveness.recapture`), reported under ``recapture``; four of them
decide (``hf_floor`` only when asked), because only they separated live clips from attacks on the
tune split:

- ``border``: sides of a frame (a screen's bezel, a print's edge) around the face moving with it;
  at ``border_max`` (1.0 side per frame on average) or more the video is refused;
- ``moire``: the strongest isolated spectral peak of the face crop at the camera's resolution,
  median over the frames; above ``moire_max`` (5.0) the video is refused;
- ``hf_floor``: the face's spectrum stops falling at high frequencies (only the filming camera's
  noise is left above the cut-off of a picture enlarged on a screen and filmed again); above
  ``hf_floor_max`` the video is refused. It sees a screen that fills the view, which has no border;
- ``flicker``: brightness jitter shared by the whole region around the face from one sampled frame
  to the next (a screen's refresh or backlight beating with the camera); reported, and opt-in:
  with ``flicker_max`` set (``FLICKER_MAX``, 0.15 % of the level) the video is refused above it in
  silent and action modes. Reflection and challenge modes never let it decide: their page may
  flash colours onto the face. Off by default because its measured gain comes from the replay
  generator's own exposure jitter, not from real screens, and lamps that flicker are a risk for
  live people that no clip here measures.

The others (``glare``, ``black_level``, ``contrast``, ``blue_cast``, ``hf_ratio``,
``noise_ratio``) overlapped between live clips and attacks and are reported only.
``micro_motion`` (the median residual), ``saturation`` and ``specular`` are reported too.

Score: ``100 / (1 + (threshold / nonrigid) ** 6)``, so 50 at ``nonrigid == threshold``, capped
at 25 when ``border``, ``moire`` or ``flicker`` says recapture. Live when the score is at least ``pass_score``
(50). Thresholds chosen on the tune split only (``benchmarks/action_labels.csv``): ``threshold``
0.16 is the geometric middle of live clips (upper quartile at least 0.277) and photo attacks (at
most 0.092); ``moire_max`` 5.0 is 25 % above the highest live clip (3.97); ``border_max`` 1.0 is
three times the highest live clip (0.33); ``FLICKER_MAX`` 0.15 is 1.6 times the highest live clip
(0.091) and 0.6 times the lowest replay filling the view that flickered (0.247; one did not, 0). Figures: ``docs/liveness.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from openkyc.biometrics.types import Image
from openkyc.liveness.recapture import RecaptureConfig, RecaptureEvidence, recapture_evidence
from openkyc.liveness.track import FaceTrack, TrackedFace

FLICKER_MAX = 0.15  # % of the level; tune: live at most 0.091, replays filling the view 0.25+ (15 of 16)


@dataclass(frozen=True)
class SilentConfig:
    threshold: float = 0.16
    steepness: float = 6.0  # photos (tune: nonrigid at most 0.092) score under 4, far below challenge's floor
    quantile: float = 75.0  # of the pairs' local residuals: a still person moves now and then
    pass_score: float = 50.0
    pair_gap_s: float = 0.4
    max_pairs: int = 12
    moire_max: float = 5.0
    border_max: float = 1.0
    hf_floor_max: float | None = None  # opt-in (-1.3 chosen on tune refused 2 of 8 held-out live clips)
    # opt-in (FLICKER_MAX): the generated replays it refuses flicker because the generator models the
    # filming camera's exposure jitter at 1 %, ten times the live clips'; a real screen's flicker and
    # the risk from lamps flickering in a room are unmeasured (docs/liveness.md)
    flicker_max: float | None = None
    recapture: RecaptureConfig = field(default_factory=RecaptureConfig)


@dataclass(frozen=True)
class SilentEvidence:
    nonrigid: float
    micro_motion: float
    moire: float
    saturation: float
    specular: float
    pairs: int
    score: float
    threshold: float
    live: bool
    recapture: RecaptureEvidence | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items() if k != "recapture"
        }
        if self.recapture is not None:
            out["recapture"] = self.recapture.to_dict()
        return out


def _grey(image: Image) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def _crop_norm(grey: npt.NDArray[np.uint8], t: TrackedFace) -> npt.NDArray[np.float32]:
    b = t.face.box
    h, w = grey.shape
    x0, y0 = max(0, int(b.x + 0.1 * b.w)), max(0, int(b.y + 0.1 * b.h))
    x1, y1 = min(w, int(b.x + 0.9 * b.w)), min(h, int(b.y + 0.95 * b.h))
    crop = np.asarray(cv2.resize(grey[y0:y1, x0:x1], (64, 72)), dtype=np.float32)
    return np.asarray((crop - crop.mean()) / (crop.std() + 1e-3), dtype=np.float32)


def pair_residual(image_a: Image, image_b: Image, face_a: TrackedFace) -> tuple[float, float] | None:
    """(local, global) residual of ``image_b`` aligned onto ``image_a`` by one homography."""
    ga, gb = _grey(image_a), _grey(image_b)
    b = face_a.face.box
    h, w = ga.shape
    if min(b.w, b.h) < 16:
        return None
    mask = np.zeros_like(ga)
    x0, y0 = max(0, int(b.x - 0.25 * b.w)), max(0, int(b.y - 0.25 * b.h))
    x1, y1 = min(w, int(b.x + 1.25 * b.w)), min(h, int(b.y + 1.25 * b.h))
    mask[y0:y1, x0:x1] = 255
    pts = cv2.goodFeaturesToTrack(ga, 200, 0.01, max(3.0, b.w / 20), mask=mask)
    if pts is None or len(pts) < 8:
        return None
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(ga, gb, pts, None, winSize=(21, 21), maxLevel=3)  # type: ignore[call-overload]
    ok = status.ravel() == 1
    p0, p1 = pts[ok].reshape(-1, 2), nxt[ok].reshape(-1, 2)
    if len(p0) < 8:
        return None
    hom, _ = cv2.findHomography(p1, p0, cv2.RANSAC, 2.0)
    if hom is None:
        return None
    warped = np.asarray(cv2.warpPerspective(gb, hom, (w, h)), dtype=np.uint8)
    # second pass on the aligned frame: large hand motion leaves a first fit slightly off
    nxt2, status2, _ = cv2.calcOpticalFlowPyrLK(ga, warped, pts, None, winSize=(15, 15), maxLevel=1)  # type: ignore[call-overload]
    ok2 = status2.ravel() == 1
    if ok2.sum() >= 8:
        fix, _ = cv2.findHomography(nxt2[ok2].reshape(-1, 2), pts[ok2].reshape(-1, 2), cv2.RANSAC, 1.0)
        if fix is not None:
            warped = np.asarray(cv2.warpPerspective(gb, fix @ hom, (w, h)), dtype=np.uint8)
    diff = cv2.GaussianBlur(np.abs(_crop_norm(ga, face_a) - _crop_norm(warped, face_a)), (0, 0), 2)
    median = float(np.median(diff))
    return float(np.percentile(diff, 98)) - median, median


def _colour(image: Image, t: TrackedFace) -> tuple[float, float]:
    b = t.face.box
    h, w = image.shape[:2]
    crop = image[max(0, int(b.y)) : min(h, int(b.y + b.h)), max(0, int(b.x)) : min(w, int(b.x + b.w))]
    if crop.size == 0:
        return 0.0, 0.0
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    sat = float(hsv[..., 1].mean())
    specular = float(((hsv[..., 2] > 235) & (hsv[..., 1] < 40)).mean())
    return sat, specular


def silent_score(nonrigid: float, recap: RecaptureEvidence, cfg: SilentConfig) -> float:
    """The motion cue's score, capped at 25 when a deciding recapture cue says recapture."""
    score = float(100.0 / (1.0 + (cfg.threshold / max(nonrigid, 1e-6)) ** cfg.steepness))
    floor = cfg.hf_floor_max is not None and recap.hf_floor > cfg.hf_floor_max
    flicker = cfg.flicker_max is not None and recap.flicker > cfg.flicker_max
    if recap.moire > cfg.moire_max or recap.border >= cfg.border_max or floor or flicker:
        score = min(score, 25.0)
    return score


def silent_evidence(track: FaceTrack, config: SilentConfig | None = None) -> SilentEvidence:
    """Measure the cues on ``track`` and decide."""
    cfg = config or SilentConfig()
    faces = track.faces
    local: list[float] = []
    glob: list[float] = []
    starts = np.linspace(0, len(faces) - 1, num=min(len(faces), cfg.max_pairs * 2)).astype(int)
    for i in sorted(set(starts.tolist())):
        a = faces[i]
        later = [f for f in faces[i + 1 :] if f.time_s - a.time_s >= cfg.pair_gap_s]
        if not later:
            break
        res = pair_residual(track.image(a), track.image(later[0]), a)
        if res is not None:
            local.append(res[0])
            glob.append(res[1])
        if len(local) >= cfg.max_pairs:
            break
    nonrigid = float(np.percentile(local, cfg.quantile)) if local else 0.0
    micro = float(np.median(glob)) if glob else 0.0
    best = track.best_face
    recap = recapture_evidence(track, cfg.recapture)
    sat, spec = _colour(track.image(best), best)
    score = silent_score(nonrigid, recap, cfg)
    return SilentEvidence(
        nonrigid=nonrigid,
        micro_motion=micro,
        moire=recap.moire,
        saturation=sat,
        specular=spec,
        pairs=len(local),
        score=score,
        threshold=cfg.pass_score,
        live=score >= cfg.pass_score,
        recapture=recap,
    )
