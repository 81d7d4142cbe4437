"""Face track over the sampled frames: one single face throughout, and the best frame.

Per sampled frame the injected :class:`~openkyc.biometrics.types.FaceDetector` gives faces with
5 keypoints. The track fails (``FailedOperation`` with a narrowed code) when:

- no frame has a face (``FailedOperation.LivessNoFace``), or fewer than ``min_face_ratio`` of
  the frames have one (``FailedOperation.LivessFaceLost``);
- a second face of comparable size (area at least ``second_face_ratio`` of the subject's) is
  seen in ``multi_face_frames`` frames or more (``FailedOperation.LivessMultiFaces``);
- the face is smaller than ``min_face_px`` wide (median over the frames) in the sampled frames,
  whose longer side is at most 640 px: the cues need detail (``FailedOperation.LivessFaceTooSmall``);
- the face changes identity mid-video (``FailedOperation.LivessFaceChanged``): the face jumps
  further than ``max_jump`` face widths between consecutive sampled frames, or its appearance
  (a normalised 24x24 grey patch aligned on the eyes, and a hue-saturation histogram of the
  skin) jumps between consecutive detections, or, when an embedder is given, its embedding drifts
  too far from the first frame. Measured: consecutive histogram correlation >= 0.98 within the
  live clips, 0.01 and 0.57 at a cut between two GRID speakers.

The best frame maximises sharpness x frontal pose x light and is returned as JPEG bytes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from openkyc.biometrics.types import (
    BoundingBox,
    Face,
    FaceDetector,
    FaceEmbedder,
    Image,
    Keypoints,
)
from openkyc.errors import FailedOperation, InternalError
from openkyc.liveness.video import VideoFrame

NO_FACE = "FailedOperation.LivessNoFace"
FACE_LOST = "FailedOperation.LivessFaceLost"
MULTI_FACES = "FailedOperation.LivessMultiFaces"
FACE_CHANGED = "FailedOperation.LivessFaceChanged"
FACE_TOO_SMALL = "FailedOperation.LivessFaceTooSmall"


@dataclass(frozen=True)
class TrackConfig:
    min_face_ratio: float = 0.6
    second_face_ratio: float = 0.3
    multi_face_frames: int = 2
    max_jump: float = 1.0
    min_patch_corr: float = 0.2
    min_hist_corr: float = 0.8  # -1 disables (reflection mode tints the face on purpose)
    min_embedding_cosine: float = 0.363
    jpeg_quality: int = 92
    detect_side: int = 400  # frames are downscaled to this longer side for detection
    min_face_px: float = 60.0  # median face width in the sampled frames (at most 640 px wide)


@dataclass(frozen=True)
class TrackedFace:
    """The subject's face in one sampled frame."""

    frame: int
    time_s: float
    face: Face
    yaw: float  # nose offset from the eye midpoint, in inter-eye distances (+: image right)
    pitch: float  # nose depth between the eye line and the mouth line, 0..1
    quality: float


@dataclass(frozen=True)
class FaceTrack:
    faces: tuple[TrackedFace, ...]
    frames: tuple[VideoFrame, ...] = field(repr=False)
    best: int  # index into ``faces``
    best_jpeg: bytes = field(repr=False)

    @property
    def best_face(self) -> TrackedFace:
        return self.faces[self.best]

    def image(self, tracked: TrackedFace) -> Image:
        return self.frames[tracked.frame].image


def pose(face: Face) -> tuple[float, float, float]:
    """(yaw, pitch, roll in degrees) proxies from the 5 keypoints."""
    k = face.keypoints
    ex, ey = (k.right_eye[0] + k.left_eye[0]) / 2, (k.right_eye[1] + k.left_eye[1]) / 2
    mx, my = (k.mouth_right[0] + k.mouth_left[0]) / 2, (k.mouth_right[1] + k.mouth_left[1]) / 2
    dx, dy = k.left_eye[0] - k.right_eye[0], k.left_eye[1] - k.right_eye[1]
    eye_dist = max(math.hypot(dx, dy), 1e-6)
    roll = math.degrees(math.atan2(dy, dx))
    c, s = dx / eye_dist, dy / eye_dist
    # nose in the eye-aligned frame
    nx, ny = k.nose[0] - ex, k.nose[1] - ey
    mid_x, mid_y = mx - ex, my - ey
    yaw = (c * nx + s * ny) / eye_dist
    face_h = max(-s * mid_x + c * mid_y, 1e-6)
    pitch = (-s * nx + c * ny) / face_h
    return yaw, pitch, roll


def _patch(image: Image, face: Face) -> npt.NDArray[np.float32]:
    """A 24x24 grey patch aligned on the eyes, zero mean and unit norm."""
    k = face.keypoints
    mouth = ((k.mouth_right[0] + k.mouth_left[0]) / 2, (k.mouth_right[1] + k.mouth_left[1]) / 2)
    src = np.array([k.right_eye, k.left_eye, mouth], dtype=np.float32)
    dst = np.array([[7, 8], [17, 8], [12, 19]], dtype=np.float32)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    warped = cv2.warpAffine(grey, cv2.getAffineTransform(src, dst), (24, 24)).astype(np.float32)
    warped -= warped.mean()
    return warped / max(float(np.linalg.norm(warped)), 1e-6)


def _skin_hist(image: Image, face: Face) -> npt.NDArray[np.float32]:
    """Hue-saturation histogram of the inner face (skin tone)."""
    b = face.box
    h, w = image.shape[:2]
    crop = image[
        max(0, int(b.y + 0.1 * b.h)) : min(h, int(b.y + 0.9 * b.h)),
        max(0, int(b.x + 0.2 * b.w)) : min(w, int(b.x + 0.8 * b.w)),
    ]
    if crop.size == 0:
        return np.zeros(128, np.float32)
    hist = cv2.calcHist([cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)], [0, 1], None, [16, 8], [0, 180, 0, 256])
    return np.asarray(cv2.normalize(hist, hist).ravel(), dtype=np.float32)


def _scaled(face: Face, factor: float) -> Face:
    b, k = face.box, face.keypoints
    points = [(x * factor, y * factor) for x, y in k.as_list()]
    return Face(
        BoundingBox(b.x * factor, b.y * factor, b.w * factor, b.h * factor),
        Keypoints(*points),
        face.score,
    )


def detect_scaled(detector: FaceDetector, image: Image, max_side: int) -> list[Face]:
    """Detect on a copy whose longer side is at most ``max_side``; coordinates of ``image``."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return detector.detect(image)
    size = (round(w * scale), round(h * scale))
    small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return [_scaled(f, 1.0 / scale) for f in detector.detect(small)]


def _quality(image: Image, face: Face) -> float:
    h, w = image.shape[:2]
    b = face.box
    x0, y0 = max(0, int(b.x)), max(0, int(b.y))
    x1, y1 = min(w, int(b.x + b.w)), min(h, int(b.y + b.h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    grey = cv2.resize(grey, (112, 112))
    sharp = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    light = float(grey.mean())
    yaw, pitch, roll = pose(face)
    frontal = math.exp(-((yaw / 0.25) ** 2) - (((pitch - 0.45) / 0.3) ** 2) - (roll / 30) ** 2)
    exposure = math.exp(-(((light - 130) / 70) ** 2))
    inside = (x1 - x0) * (y1 - y0) / max(b.w * b.h, 1.0)
    return float(min(sharp, 400.0) / 400.0 * frontal * exposure * inside * face.score)


def build_track(
    frames: tuple[VideoFrame, ...],
    detector: FaceDetector,
    *,
    embedder: FaceEmbedder | None = None,
    config: TrackConfig | None = None,
) -> FaceTrack:
    """Detect the subject in every sampled frame and check that it is one single face."""
    cfg = config or TrackConfig()
    tracked: list[TrackedFace] = []
    multi = 0
    for vf in frames:
        faces = detect_scaled(detector, vf.image, cfg.detect_side)
        if not faces:
            continue
        faces = sorted(faces, key=lambda f: f.box.area, reverse=True)
        subject = faces[0]
        if len(faces) > 1 and faces[1].box.area >= cfg.second_face_ratio * subject.box.area:
            multi += 1
            if multi >= cfg.multi_face_frames:
                raise FailedOperation("More than one face is in the video.", code=MULTI_FACES)
        yaw, pitch, _ = pose(subject)
        tracked.append(TrackedFace(vf.index, vf.time_s, subject, yaw, pitch, _quality(vf.image, subject)))
    if not tracked:
        raise FailedOperation("No face was found in the video.", code=NO_FACE)
    if len(tracked) < cfg.min_face_ratio * len(frames):
        raise FailedOperation("The face is missing from too many frames.", code=FACE_LOST)
    if float(np.median([t.face.box.w for t in tracked])) < cfg.min_face_px:
        raise FailedOperation("The face is too small in the video.", code=FACE_TOO_SMALL)
    _check_same_face(tracked, frames, cfg, embedder)
    best = max(range(len(tracked)), key=lambda i: tracked[i].quality)
    ok, buf = cv2.imencode(".jpg", frames[tracked[best].frame].image, [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality])
    if not ok:
        raise InternalError("The best frame could not be encoded.")
    return FaceTrack(tuple(tracked), frames, best, buf.tobytes())


def _check_same_face(
    tracked: list[TrackedFace],
    frames: tuple[VideoFrame, ...],
    cfg: TrackConfig,
    embedder: FaceEmbedder | None,
) -> None:
    changed = FailedOperation("The face changed during the video.", code=FACE_CHANGED)
    for prev, cur in itertools.pairwise(tracked):
        a, b = prev.face.box, cur.face.box
        jump = math.hypot((a.x + a.w / 2) - (b.x + b.w / 2), (a.y + a.h / 2) - (b.y + b.h / 2))
        if jump > cfg.max_jump * max(a.w, b.w) * max(1, cur.frame - prev.frame) ** 0.5:
            raise changed
    patches = [_patch(frames[t.frame].image, t.face) for t in tracked]
    for i in range(1, len(patches)):
        recent = patches[max(0, i - 2) : i]
        if max(float((patches[i] * r).sum()) for r in recent) < cfg.min_patch_corr:
            raise changed
    if cfg.min_hist_corr > -1:
        hists = [_skin_hist(frames[t.frame].image, t.face) for t in tracked]
        for h1, h2 in itertools.pairwise(hists):
            if cv2.compareHist(h1, h2, cv2.HISTCMP_CORREL) < cfg.min_hist_corr:
                raise changed
    if embedder is not None:
        picks = sorted({0, len(tracked) // 2, len(tracked) - 1})
        embs = [embedder.embed(frames[tracked[i].frame].image, tracked[i].face) for i in picks]
        for e in embs[1:]:
            if float(np.dot(embs[0], e)) < cfg.min_embedding_cosine:
                raise changed
