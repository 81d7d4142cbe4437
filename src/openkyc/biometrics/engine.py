"""The face engine: bytes -> decode -> detect -> quality -> align + embed -> protected template.

``FaceEngine`` is stateless apart from the loaded models and the calibration table; the services
build one per process (or worker) and call it. Raw embeddings never leave this module except
through :meth:`FaceEngine.embed` (used by evaluation); they are not stored or logged.

An engine has one embedder name (``sface``, ``dlib``, ``fusion``) with its own calibration table.
Templates are made under a per-embedder sub-key of the app's key (:func:`embedder_key`; ``sface``
uses the app key itself), so templates of two embedders carry different key ids and never compare
(``TemplateMismatch``), even inside one app.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import numpy as np

from openkyc.biometrics.calibration import DEFAULT_THRESHOLD, Calibration
from openkyc.biometrics.detection import YuNetDetector, largest_face
from openkyc.biometrics.embedding import build_embedder
from openkyc.biometrics.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, decode_image
from openkyc.biometrics.quality import QualityThresholds, assess, raise_for_quality
from openkyc.biometrics.registry import verify_models
from openkyc.biometrics.templates import FaceTemplate, TemplateKey, TemplateProtector, hamming_similarity
from openkyc.biometrics.types import Embedding, Face, FaceDetector, FaceEmbedder, Image, Quality
from openkyc.errors import FaceNotFound, MultipleFacesFound

KEY_SEPARATOR = "/"


def embedder_key(key: TemplateKey, embedder: str) -> TemplateKey:
    """The sub-key templates of ``embedder`` are made under (``sface``: the app key itself)."""
    if embedder == "sface":
        return key
    label = f"openkyc-face-embedder-subkey|{embedder}".encode()
    secret = hmac.new(key.secret, label, hashlib.sha256).digest()
    return TemplateKey(f"{key.key_id}{KEY_SEPARATOR}{embedder}", secret, key.bits, key.version)


def base_key_id(template_key_id: str) -> str:
    """The app key id a template's key id was derived from."""
    return template_key_id.split(KEY_SEPARATOR, 1)[0]


@dataclass(frozen=True, slots=True)
class DetectedFace:
    face: Face
    quality: Quality

    def as_dict(self) -> dict[str, object]:
        return {
            "box": self.face.box.as_list(),
            "keypoints": self.face.keypoints.as_dict(),
            "score": round(self.face.score, 4),
            "quality": self.quality.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class DetectResult:
    width: int
    height: int
    faces: tuple[DetectedFace, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "width": self.width,
            "height": self.height,
            "face_count": len(self.faces),
            "faces": [f.as_dict() for f in self.faces],
        }


@dataclass(frozen=True, slots=True)
class Enrolment:
    """The protected template of the chosen face and its quality (no embedding, no pixels)."""

    template: FaceTemplate
    face: Face
    quality: Quality


@dataclass(frozen=True, slots=True)
class CompareResult:
    sim: float
    match: bool
    threshold: float
    score: float  # Hamming similarity of the two templates, 0-1 (0.5 is chance)
    quality_a: Quality | None = field(default=None, repr=False)
    quality_b: Quality | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "sim": round(self.sim, 2),
            "match": self.match,
            "threshold": self.threshold,
            "score": round(self.score, 4),
        }
        if self.quality_a is not None and self.quality_b is not None:
            out["quality_a"] = self.quality_a.as_dict()
            out["quality_b"] = self.quality_b.as_dict()
        return out


class FaceEngine:
    def __init__(
        self,
        detector: FaceDetector,
        embedder: FaceEmbedder,
        calibration: Calibration,
        *,
        quality: QualityThresholds | None = None,
        enforce_quality: bool = True,
        threshold: float = DEFAULT_THRESHOLD,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        name: str | None = None,
    ) -> None:
        self.name = name or str(calibration.table.get("embedder", "sface"))
        self.detector = detector
        self.embedder = embedder
        self.calibration = calibration
        self.quality = quality or QualityThresholds()
        self.enforce_quality = enforce_quality
        self.threshold = threshold
        self.bits = calibration.bits
        self.version = calibration.version
        self._limits = {"max_pixels": max_pixels, "max_bytes": max_bytes}
        self._protectors: dict[tuple[str, bytes, int, int], TemplateProtector] = {}

    @classmethod
    def default(cls, *, num_threads: int | None = 1, **options: object) -> FaceEngine:
        """YuNet + SFace from the packaged, sha256-verified model files and calibration table."""
        return cls.for_embedder("sface", num_threads=num_threads, **options)  # type: ignore[arg-type]

    @classmethod
    def for_embedder(
        cls, name: str, *, num_threads: int | None = 1, allow_noncommercial: bool = False, **options: object
    ) -> FaceEngine:
        """YuNet + the embedder called ``name`` with its own packaged calibration table.

        ``dlib``/``fusion`` without the ``openkyc[dlib]`` extra raise ``EmbedderUnavailable``.
        """
        embedder = build_embedder(name, num_threads=num_threads, allow_noncommercial=allow_noncommercial)
        paths = verify_models(["yunet"], allow_noncommercial=allow_noncommercial)
        return cls(
            YuNetDetector(paths["yunet"], num_threads=num_threads),
            embedder,
            Calibration.packaged(name),
            name=name,
            **options,  # type: ignore[arg-type]
        )

    def decode(self, data: bytes) -> Image:
        return decode_image(data, **self._limits)

    def detect(self, data: bytes | Image) -> DetectResult:
        image = self.decode(data) if isinstance(data, bytes) else data
        faces = self.detector.detect(image)
        detected = tuple(DetectedFace(f, assess(image, f, self.quality)) for f in faces)
        return DetectResult(image.shape[1], image.shape[0], detected)

    def select_face(
        self, image: Image, *, require_single: bool = False, enforce_quality: bool | None = None
    ) -> tuple[Face, Quality]:
        """The subject's face (the largest); raises no-face, several-faces or quality errors."""
        faces = self.detector.detect(image)
        face = largest_face(faces)
        if face is None:
            raise FaceNotFound()
        if require_single:
            big = [f for f in faces if min(f.box.w, f.box.h) >= 0.5 * min(face.box.w, face.box.h)]
            if len(big) > 1:
                raise MultipleFacesFound()
        quality = assess(image, face, self.quality)
        if self.enforce_quality if enforce_quality is None else enforce_quality:
            raise_for_quality(quality)
        return face, quality

    def embed(self, data: bytes | Image, **select: bool) -> tuple[Embedding, Quality]:
        image = self.decode(data) if isinstance(data, bytes) else data
        face, quality = self.select_face(image, **select)
        return self.embedder.embed(image, face), quality

    def protector(self, key: TemplateKey) -> TemplateProtector:
        """The protector for this embedder's sub-key of ``key``, making templates of the key's size and
        version (a key without them: the table's defaults); matrices are kept for the few in use."""
        key = embedder_key(key, self.name)
        bits, version = key.bits or self.bits, key.version or self.version
        cache_key = (key.key_id, hashlib.sha256(key.secret).digest(), bits, version)
        protector = self._protectors.get(cache_key)
        if protector is None:
            if len(self._protectors) >= 64:
                self._protectors.clear()
            protector = TemplateProtector(key, dim=self.embedder.dim, bits=bits, version=version)
            self._protectors[cache_key] = protector
        return protector

    def enrol(self, data: bytes | Image, key: TemplateKey, **select: bool) -> Enrolment:
        """Template of the subject's face under ``key``; the embedding is dropped here."""
        image = self.decode(data) if isinstance(data, bytes) else data
        face, quality = self.select_face(image, **select)
        template = self.protector(key).protect(self.embedder.embed(image, face))
        return Enrolment(template, face, quality)

    def compare(self, image_a: bytes | Image, image_b: bytes | Image, key: TemplateKey) -> CompareResult:
        protector = self.protector(key)
        results = []
        for data in (image_a, image_b):
            embedding, quality = self.embed(data)
            results.append((protector.protect(embedding), quality))
        (ta, qa), (tb, qb) = results
        return self._result(ta, tb, qa, qb)

    def compare_templates(self, a: FaceTemplate, b: FaceTemplate) -> CompareResult:
        return self._result(a, b, None, None)

    def sim(self, score: float, bits: int | None = None, version: int | None = None) -> float:
        """``sim`` of a Hamming similarity between two templates of ``bits`` bits and ``version``
        (default: the table's size and version)."""
        return self.calibration.sim(score, "template", bits, version)

    def template_sim(self, a: FaceTemplate, b: FaceTemplate) -> float:
        """``sim`` of two templates of one key, with the knots of their own size and version."""
        return self.sim(hamming_similarity(a, b), a.bits, a.version)

    def _result(self, a: FaceTemplate, b: FaceTemplate, qa: Quality | None, qb: Quality | None) -> CompareResult:
        score = hamming_similarity(a, b)
        sim = self.sim(score, a.bits, a.version)
        return CompareResult(sim, sim >= self.threshold, self.threshold, score, qa, qb)


def cosine(a: Embedding, b: Embedding) -> float:
    return float(np.dot(a, b))
