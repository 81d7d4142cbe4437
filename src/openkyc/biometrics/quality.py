"""Face quality: size, sharpness, brightness, pose from the 5 keypoints, cut by the border.

Each failed check has a stable error code (see :mod:`openkyc.errors`); :func:`assess` returns the
measurements and the codes, :func:`raise_for_quality` raises the first failure's error.
Pose angles are rough geometric estimates from 2D keypoints (nose offset from the eye midpoint
and from the eye-mouth line), good enough to reject strongly turned faces, not to measure pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from openkyc.biometrics.types import Face, Image, Quality
from openkyc.errors import (
    FaceBlurred,
    FaceIncomplete,
    FacePoseTooLarge,
    FaceQualityTooLow,
    FaceTooBright,
    FaceTooDark,
    FaceTooSmall,
)

NOSE_DEPTH = 0.6  # nose-tip protrusion in inter-eye distances (average adult face)
EYE_MOUTH = 1.1  # eye-line to mouth-line distance in inter-eye distances
FRONTAL_NOSE_T = 0.55  # nose position between eye line (0) and mouth line (1) when frontal


@dataclass(frozen=True, slots=True)
class QualityThresholds:
    min_face: float = 40.0
    min_sharpness: float = 15.0
    min_brightness: float = 45.0
    max_brightness: float = 215.0
    max_yaw: float = 40.0
    max_pitch: float = 35.0
    min_inside: float = 0.85


_ERRORS: dict[str, type[FaceQualityTooLow]] = {
    cls.code: cls for cls in (FaceTooSmall, FaceIncomplete, FaceTooDark, FaceTooBright, FaceBlurred, FacePoseTooLarge)
}


def pose(face: Face) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the 5 keypoints."""
    kp = np.asarray(face.keypoints.as_list(), dtype=np.float64)
    right_eye, left_eye, _nose, _mouth_r, _mouth_l = kp
    eye_vec = left_eye - right_eye
    roll = math.degrees(math.atan2(eye_vec[1], eye_vec[0]))
    c, s = math.cos(math.radians(-roll)), math.sin(math.radians(-roll))
    rot = np.array([[c, -s], [s, c]])
    eye_mid = (right_eye + left_eye) / 2
    pts = (kp - eye_mid) @ rot.T  # eyes horizontal, origin between the eyes
    eye_dist = max(float(np.linalg.norm(eye_vec)), 1e-6)
    yaw = math.degrees(math.atan2(pts[2, 0] / eye_dist, NOSE_DEPTH))
    mouth_y = float((pts[3, 1] + pts[4, 1]) / 2)
    if mouth_y <= 1e-6:
        return yaw, 90.0, roll
    t = float(pts[2, 1]) / mouth_y
    pitch = math.degrees(math.atan((t - FRONTAL_NOSE_T) * EYE_MOUTH / NOSE_DEPTH))
    return yaw, pitch, roll


def assess(image: Image, face: Face, thresholds: QualityThresholds | None = None) -> Quality:
    th = thresholds or QualityThresholds()
    height, width = image.shape[:2]
    b = face.box
    x0, y0 = max(0, int(b.x)), max(0, int(b.y))
    x1, y1 = min(width, int(b.x + b.w)), min(height, int(b.y + b.h))
    inside = max(0, x1 - x0) * max(0, y1 - y0) / max(b.area, 1e-6)
    region = image[y0:y1, x0:x1]
    if region.size == 0:
        sharpness, brightness = 0.0, 0.0
    else:
        grey = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
        brightness = float(grey.mean())
        grey = cv2.resize(grey, (112, 112), interpolation=cv2.INTER_AREA)
        sharpness = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    yaw, pitch, roll = pose(face)
    kp_outside = any(not (0 <= px < width and 0 <= py < height) for px, py in face.keypoints.as_list())
    issues: list[str] = []
    if min(b.w, b.h) < th.min_face:
        issues.append(FaceTooSmall.code)
    if inside < th.min_inside or kp_outside:
        issues.append(FaceIncomplete.code)
    if brightness < th.min_brightness:
        issues.append(FaceTooDark.code)
    elif brightness > th.max_brightness:
        issues.append(FaceTooBright.code)
    if sharpness < th.min_sharpness:
        issues.append(FaceBlurred.code)
    if abs(yaw) > th.max_yaw or abs(pitch) > th.max_pitch:
        issues.append(FacePoseTooLarge.code)
    return Quality(
        face_size=min(b.w, b.h),
        sharpness=sharpness,
        brightness=brightness,
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        inside_image=inside,
        issues=tuple(issues),
    )


def raise_for_quality(quality: Quality) -> None:
    """Raise the error of the first failed check (order: size, cut, light, blur, pose)."""
    if quality.issues:
        raise _ERRORS.get(quality.issues[0], FaceQualityTooLow)()
