from __future__ import annotations

import cv2
import numpy as np

from openkyc.documents.quality import (
    WARN_BLURRED,
    WARN_BW_COPY,
    WARN_GLARE,
    WARN_INCOMPLETE,
    WARN_SCREEN,
    WARN_TOO_DARK,
    apply_warning_rule,
    document_warnings,
)


def _document() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = np.full((600, 900, 3), (120, 160, 200), np.uint8)
    for i in range(30):
        cv2.putText(
            img, "P<UTOERIKSSON<<ANNA" + str(i), (20, 20 + 19 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (10, 10, 10), 1
        )
    return np.clip(img.astype(np.int16) + rng.integers(-4, 5, img.shape), 0, 255).astype(np.uint8)


def test_clean_document_has_no_warnings() -> None:
    assert document_warnings(_document()) == []


def test_each_warning() -> None:
    doc = _document()
    assert WARN_BLURRED in document_warnings(cv2.GaussianBlur(doc, (0, 0), 4))
    assert WARN_TOO_DARK in document_warnings((doc * 0.2).astype(np.uint8))
    yy, xx = np.mgrid[:600, :900]
    blob = np.exp(-(((xx - 450) / 110.0) ** 2 + ((yy - 300) / 80.0) ** 2))[..., None]
    glare = np.clip(doc.astype(np.float32) + 300 * blob, 0, 255).astype(np.uint8)  # a reflection fades out
    assert WARN_GLARE in document_warnings(glare)
    printed = doc.copy()
    cv2.circle(printed, (450, 300), 90, (255, 255, 255), -1)  # a white printed area has a hard edge
    assert WARN_GLARE not in document_warnings(printed)
    grey = cv2.cvtColor(cv2.cvtColor(doc, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert WARN_BW_COPY in document_warnings(grey)
    assert WARN_INCOMPLETE in document_warnings(doc, text_boxes=[(0.0, 100.0, 200.0, 20.0)])
    screen = np.clip(doc.astype(np.float32) + 80 * np.sin(xx * 1.9 + yy * 0.4)[..., None], 0, 255).astype(np.uint8)
    assert WARN_SCREEN in document_warnings(screen)


def test_rule_lists_failing_warnings() -> None:
    verdict = apply_warning_rule([WARN_GLARE, WARN_BLURRED], fail_on=[WARN_BLURRED, WARN_SCREEN])
    assert not verdict.passed and verdict.failing == (WARN_BLURRED,)
    assert apply_warning_rule([WARN_GLARE], fail_on=[]).passed
