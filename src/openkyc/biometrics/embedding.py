"""Face embedders behind the ``FaceEmbedder`` protocol: SFace (default) and dlib ResNet.

Both return unit-length float32 vectors, so cosine similarity is a dot product. Embeddings stay
in memory only: they are turned into protected templates (:mod:`.templates`) and dropped.

:func:`build_embedder` makes one by its public name: ``sface``, ``dlib`` (the optional extra
``openkyc[dlib]``) or ``fusion`` (both, equal weights). A missing extra raises
:class:`~openkyc.errors.EmbedderUnavailable`, never an ``ImportError``.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from openkyc.biometrics.registry import verify_models
from openkyc.biometrics.types import Embedding, Face, Image
from openkyc.errors import EmbedderUnavailable, InternalError

EMBEDDER_NAMES: tuple[str, ...] = ("sface", "dlib", "fusion")


def _unit(vector: Any) -> Embedding:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


class SFaceEmbedder:
    """SFace through ``cv2.FaceRecognizerSF``, aligned with ``alignCrop`` on the YuNet row."""

    name = "sface"
    dim = 128

    def __init__(self, model_path: Path | str, *, num_threads: int | None = 1) -> None:
        if num_threads is not None:
            cv2.setNumThreads(num_threads)
        try:
            self._net = cv2.FaceRecognizerSF.create(str(model_path), "")
        except cv2.error as exc:
            raise InternalError("The face recognition model could not be loaded.") from exc

    def align(self, image: Image, face: Face) -> Image:
        """The 112x112 aligned crop SFace embeds."""
        return np.asarray(self._net.alignCrop(image, face.to_yunet_row()), dtype=np.uint8)

    def embed_aligned(self, aligned: Image) -> Embedding:
        return _unit(self._net.feature(aligned))

    def embed(self, image: Image, face: Face) -> Embedding:
        return self.embed_aligned(self.align(image, face))


class DlibEmbedder:
    """dlib's ResNet descriptor, aligned by dlib's 5-point predictor inside the YuNet box."""

    name = "dlib"
    dim = 128

    def __init__(self, predictor_path: Path | str, recognition_path: Path | str, *, num_jitters: int = 0) -> None:
        dlib = import_dlib()  # optional extra: imported only when this embedder is built
        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(predictor_path))
        self._net = dlib.face_recognition_model_v1(str(recognition_path))
        self._jitters = num_jitters

    def embed(self, image: Image, face: Face) -> Embedding:
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        b = face.box
        rect = self._dlib.rectangle(round(b.x), round(b.y), round(b.x + b.w), round(b.y + b.h))
        shape = self._predictor(rgb, rect)
        descriptor = self._net.compute_face_descriptor(rgb, shape, self._jitters)
        return _unit(np.array(descriptor))


class FusedEmbedder:
    """Concatenation of weighted unit embeddings: its cosine is the weighted mean of the parts'.

    A fused vector goes through the same protected-template pipeline as a single one.
    """

    def __init__(self, parts: list[tuple[Any, float]]) -> None:
        self._parts = parts
        total = sum(w for _, w in parts)
        self._scales = [float(np.sqrt(w / total)) for _, w in parts]
        self.name = "+".join(p.name for p, _ in parts)
        self.dim = sum(int(p.dim) for p, _ in parts)

    def embed(self, image: Image, face: Face) -> Embedding:
        pieces = [p.embed(image, face) * s for (p, _), s in zip(self._parts, self._scales, strict=True)]
        return _unit(np.concatenate(pieces))


def import_dlib() -> Any:
    """The ``dlib`` module, or :class:`EmbedderUnavailable` when the extra is not installed."""
    try:
        return importlib.import_module("dlib")
    except ImportError as exc:
        raise EmbedderUnavailable("The dlib embedder needs the openkyc[dlib] extra.") from exc


def check_available(name: str) -> None:
    """Raises ``EmbedderUnavailable`` when ``name`` cannot be built here, without loading any model."""
    if name in {"dlib", "fusion"}:
        import_dlib()
        if importlib.util.find_spec("face_recognition_models") is None:
            raise EmbedderUnavailable("The dlib embedder needs the openkyc[dlib] extra (face-recognition-models).")
    elif name != "sface":
        raise ValueError(f"unknown embedder {name!r}")


def default_sface(*, num_threads: int | None = 1, allow_noncommercial: bool = False) -> SFaceEmbedder:
    path = verify_models(["sface"], allow_noncommercial=allow_noncommercial)["sface"]
    return SFaceEmbedder(path, num_threads=num_threads)


def default_dlib(*, allow_noncommercial: bool = False) -> DlibEmbedder:
    import_dlib()
    if importlib.util.find_spec("face_recognition_models") is None:
        raise EmbedderUnavailable("The dlib embedder needs the openkyc[dlib] extra (face-recognition-models).")
    paths = verify_models(["dlib_5pt", "dlib_resnet"], allow_noncommercial=allow_noncommercial)
    return DlibEmbedder(paths["dlib_5pt"], paths["dlib_resnet"])


def build_embedder(
    name: str, *, num_threads: int | None = 1, allow_noncommercial: bool = False
) -> SFaceEmbedder | DlibEmbedder | FusedEmbedder:
    """The embedder called ``name`` from the packaged, sha256-verified model files."""
    if name == "sface":
        return default_sface(num_threads=num_threads, allow_noncommercial=allow_noncommercial)
    if name == "dlib":
        return default_dlib(allow_noncommercial=allow_noncommercial)
    if name == "fusion":
        dlib = default_dlib(allow_noncommercial=allow_noncommercial)  # fails first when the extra is missing
        sface = default_sface(num_threads=num_threads, allow_noncommercial=allow_noncommercial)
        return FusedEmbedder([(sface, 1.0), (dlib, 1.0)])
    raise ValueError(f"unknown embedder {name!r}")
