"""Fixtures for liveness tests: the real detector, the checker and cached generated videos."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from attacks import ATTACKS, attack_photos, live_clips

from openkyc.biometrics.detection import YuNetDetector, default_detector
from openkyc.liveness import LivenessChecker


@pytest.fixture(scope="session")
def detector() -> YuNetDetector:
    return default_detector()


@pytest.fixture(scope="session")
def checker(detector: YuNetDetector) -> LivenessChecker:
    return LivenessChecker(detector)


@pytest.fixture(scope="session")
def grid_clips(shared_data: Path) -> list[Path]:
    return live_clips(shared_data)[:-1]


@pytest.fixture(scope="session")
def attack_videos(shared_data: Path) -> dict[str, list[bytes]]:
    """Each attack type applied to three real photos (kept small: the suite shares 2 cores)."""
    photos = attack_photos(shared_data)[:3]
    images = [cv2.imread(str(p)) for p in photos]
    return {kind: [make(img, i) for i, img in enumerate(images)] for kind, make in ATTACKS.items()}
