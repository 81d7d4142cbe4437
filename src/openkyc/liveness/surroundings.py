"""The face's motion against its surroundings: a head turn moves the face, a hand-held screen moves everything.

A replayed video on a screen held in a moving hand moves the whole picture: the screen, its content
(the replayed face and the room behind it) and what is around it, together. A live head turn moves
the face against a background that stays put (or that moves with the camera, but not with the head).
Per pair of consecutive tracked frames, corners found outside the face (its box widened by half a
width on each side and down to the bottom of the picture, which holds the neck and shoulders that
follow the head) are followed by pyramidal Lucas-Kanade optical flow and one similarity transform
(rotation, scale, shift) is fitted to them with RANSAC: the rigid motion of the surroundings. The
nose is carried by that transform; where it really went minus where the surroundings carried it
is the face's own motion.

Per tracked frame, cumulative from the first and in inter-eye distances (horizontal, image x):

- ``rel_x``: the nose's own motion, against the surroundings;
- ``bg_x``: the nose's motion explained by the surroundings' transform.

Where too few corners are followed (a plain wall), the surroundings are taken as still: the rule
that uses these (:mod:`openkyc.liveness.events`) then sees the face's full motion as its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from openkyc.biometrics.types import Face, Image

WORK_SIDE = 320  # the frames are scaled to this longer side for the flow
MIN_POINTS = 8


def _grey(image: Image, scale: float) -> npt.NDArray[np.uint8]:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        h, w = grey.shape[:2]
        grey = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return np.asarray(grey, dtype=np.uint8)


def _mask(shape: tuple[int, ...], face: Face, scale: float) -> npt.NDArray[np.uint8]:
    h, w = shape[:2]
    b = face.box
    mask = np.full((h, w), 255, dtype=np.uint8)
    x0 = max(0, int((b.x - 0.5 * b.w) * scale))
    x1 = min(w, int((b.x + 1.5 * b.w) * scale) + 1)
    y0 = max(0, int((b.y - 0.3 * b.h) * scale))
    mask[y0:, x0:x1] = 0
    return mask


def surroundings_shift(
    before: Image, after: Image, face: Face, point: tuple[float, float]
) -> tuple[float, float] | None:
    """Where the surroundings' rigid motion from ``before`` to ``after`` carries ``point`` (pixels of the frames).

    None when too few corners outside the face are followed.
    """
    h, w = before.shape[:2]
    scale = min(1.0, WORK_SIDE / max(h, w))
    a, b = _grey(before, scale), _grey(after, scale)
    corners = cv2.goodFeaturesToTrack(a, 150, 0.01, 6, mask=_mask(a.shape, face, scale))
    if corners is None or len(corners) < MIN_POINTS:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(a, b, corners, None, winSize=(15, 15), maxLevel=3)  # type: ignore[call-overload]
    ok = status.ravel() == 1
    if int(ok.sum()) < MIN_POINTS:
        return None
    matrix, _ = cv2.estimateAffinePartial2D(
        corners[ok].reshape(-1, 2), moved[ok].reshape(-1, 2), method=cv2.RANSAC, ransacReprojThreshold=1.5
    )
    if matrix is None:
        return None
    x, y = point[0] * scale, point[1] * scale
    px = float(matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2])
    py = float(matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2])
    return px / scale, py / scale


def face_against_surroundings(images: Sequence[Image], faces: Sequence[Face]) -> tuple[list[float], list[float]]:
    """(``rel_x``, ``bg_x``) per tracked frame: see the module's docstring."""
    rel, bg = [0.0], [0.0]
    for i in range(1, len(faces)):
        prev, cur = faces[i - 1], faces[i]
        k = prev.keypoints
        eye = max(math.hypot(k.left_eye[0] - k.right_eye[0], k.left_eye[1] - k.right_eye[1]), 1e-6)
        carried = surroundings_shift(images[i - 1], images[i], prev, k.nose)
        dx_bg = 0.0 if carried is None else carried[0] - k.nose[0]
        dx_all = cur.keypoints.nose[0] - k.nose[0]
        rel.append(rel[-1] + (dx_all - dx_bg) / eye)
        bg.append(bg[-1] + dx_bg / eye)
    return rel, bg
