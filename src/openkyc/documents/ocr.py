"""Text recognition behind a ``TextRecognizer`` protocol; the default engine is RapidOCR (PP-OCR).

The ONNX models ship inside the ``rapidocr`` wheel and are passed by path, so RapidOCR never tries
to download anything. The detector works on a copy whose longer side is capped
(``Det.limit_type=max``, ``Det.limit_side_len=960``); boxes come back in full-image pixels, and
crops for recognition are cut from the full-resolution image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from openkyc.errors import InternalError

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]
"""Four corners, clockwise from top-left, in image pixels."""
Alternatives = tuple[tuple[str, float], ...]
"""Other characters the recogniser found likely at one character's place, with their probabilities."""
ReadText = tuple[str, float, tuple[float, ...], tuple[Alternatives, ...]]
"""text, line confidence, per-character confidences, per-character alternatives."""
MIN_ALTERNATIVE = 1e-5


@dataclass(frozen=True, slots=True)
class TextLine:
    """One recognised line of text. The text may be personal data: the repr hides it."""

    text: str
    box: Quad
    confidence: float
    chars: tuple[float, ...] = ()
    """The recogniser's confidence for each character of ``text`` (empty: unknown, use ``confidence``)."""
    alternatives: tuple[Alternatives, ...] = ()
    """For each character, other characters with their probabilities (empty: unknown)."""

    def char_confidences(self) -> list[float]:
        """One confidence per character of ``text``."""
        if len(self.chars) == len(self.text):
            return list(self.chars)
        return [self.confidence] * len(self.text)

    def char_alternatives(self) -> list[Alternatives] | None:
        """One set of alternatives per character of ``text``, or None when the recogniser gave none."""
        if len(self.alternatives) == len(self.text) and self.alternatives:
            return list(self.alternatives)
        return None

    def __repr__(self) -> str:
        return f"TextLine(chars={len(self.text)}, confidence={self.confidence:.2f})"

    @property
    def height(self) -> float:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.box
        return float(np.hypot(x3 - x0, y3 - y0) + np.hypot(x2 - x1, y2 - y1)) / 2

    @property
    def width(self) -> float:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.box
        return float(np.hypot(x1 - x0, y1 - y0) + np.hypot(x2 - x3, y2 - y3)) / 2


@runtime_checkable
class TextRecognizer(Protocol):
    """Capability: every line of text in a BGR image."""

    def recognize(self, image: npt.NDArray[np.uint8]) -> list[TextLine]: ...


@runtime_checkable
class LineReader(Protocol):
    """Optional, faster capability: find line boxes first, then read chosen crops only."""

    def detect_lines(self, image: npt.NDArray[np.uint8]) -> list[Quad]: ...

    def read_crops(self, crops: list[npt.NDArray[np.uint8]]) -> list[tuple[str, float]]: ...


def read_lines(reader: LineReader, crops: list[npt.NDArray[np.uint8]]) -> list[ReadText]:
    """Text, line confidence, per-character confidences and alternatives (empty when the reader has none)."""
    detailed = getattr(reader, "read_crops_chars", None)
    if detailed is not None:
        return list(detailed(crops))
    return [(text, score, (), ()) for text, score in reader.read_crops(crops)]


def rapidocr_model_paths() -> dict[str, Path]:
    """The detector, recogniser and orientation-classifier files inside the installed rapidocr wheel."""
    import rapidocr

    root = Path(rapidocr.__file__).resolve().parent / "models"
    return {
        "det": root / "PP-OCRv6_det_small.onnx",
        "rec": root / "PP-OCRv6_rec_small.onnx",
        "cls": root / "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    }


class RapidTextRecognizer:
    """``TextRecognizer`` and ``LineReader`` on RapidOCR 3.10. Not thread-safe: one per worker."""

    def __init__(
        self,
        *,
        det_model: Path | None = None,
        rec_model: Path | None = None,
        cls_model: Path | None = None,
        limit_side_len: int = 960,
        num_threads: int = 1,
        min_confidence: float = 0.5,
    ) -> None:
        defaults = rapidocr_model_paths()
        paths = {"det": det_model or defaults["det"], "rec": rec_model or defaults["rec"]}
        paths["cls"] = cls_model or defaults["cls"]
        for path in paths.values():
            if not Path(path).is_file():
                raise InternalError("An OCR model file is missing.")
        self.min_confidence = min_confidence
        self._watched: npt.NDArray[np.intp] | None = None
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Global.text_score": min_confidence,
            "Det.model_path": str(paths["det"]),
            "Rec.model_path": str(paths["rec"]),
            "Cls.model_path": str(paths["cls"]),
            "Det.limit_type": "max",
            "Det.limit_side_len": limit_side_len,
            "EngineConfig.onnxruntime.intra_op_num_threads": num_threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        try:
            from rapidocr import RapidOCR

            self._engine = RapidOCR(params=params)
            self._det = self._engine._load_det_model()  # type: ignore[no-untyped-call]
            self._rec = self._engine._load_rec_model()  # type: ignore[no-untyped-call]
        except Exception as exc:  # onnxruntime and omegaconf raise many types
            raise InternalError("The OCR engine could not be loaded.") from exc

    def detect_lines(self, image: npt.NDArray[np.uint8]) -> list[Quad]:
        out = self._det(image)
        if out.boxes is None:
            return []
        return [_quad(box) for box in out.boxes]

    def read_crops(self, crops: list[npt.NDArray[np.uint8]]) -> list[tuple[str, float]]:
        return [(text, score) for text, score, _, _ in self.read_crops_chars(crops)]

    def read_crops_chars(self, crops: list[npt.NDArray[np.uint8]]) -> list[ReadText]:
        """Like ``read_crops``, with each character's confidence and its likeliest alternatives.

        The recogniser is a CTC model: each emitted character spans a run of time steps; its
        confidence is the run's top probability, and its alternatives are the other characters'
        highest probabilities over the same steps (kept from :data:`MIN_ALTERNATIVE` up). Batching
        and input normalisation are RapidOCR's own (``resize_norm_img``).
        """
        if not crops:
            return []
        rec = self._rec
        charset = rec.postprocess_op.character
        if self._watched is None:
            self._watched = _watched(charset)
        out: list[ReadText] = [("", 0.0, (), ())] * len(crops)
        imgh, imgw = rec.rec_image_shape[1:3]
        for batch in _batches([c.shape[1] / max(c.shape[0], 1) for c in crops], imgw / imgh, rec.rec_batch_num):
            ratio = max([imgw / imgh] + [crops[k].shape[1] / max(crops[k].shape[0], 1) for k in batch])
            norm = np.concatenate([rec.resize_norm_img(crops[k], ratio)[np.newaxis, :] for k in batch])
            preds = np.asarray(rec.session(norm.astype(np.float32)))
            for row, k in enumerate(batch):
                out[k] = _ctc_decode(preds[row], charset, self._watched)
        return out

    def recognize(self, image: npt.NDArray[np.uint8]) -> list[TextLine]:
        quads = self.detect_lines(image)
        crops = [crop_quad(image, q) for q in quads]
        lines = []
        for quad, (text, score, chars, alts) in zip(quads, self.read_crops_chars(crops), strict=True):
            if text.strip() and score >= self.min_confidence:
                lines.append(TextLine(text, quad, score, chars, alts))
        return lines


BATCH_SPREAD = 1.15
"""Crops are batched only with crops at most this much narrower (width / height) than the batch's widest."""


def _batches(ratios: list[float], min_ratio: float, size: int) -> list[list[int]]:
    """Indices of crops in batches of similar width / height, narrowest first.

    Every crop of a batch is padded to the batch's widest, and the recogniser's time grows with the
    padded width (one thread gains nothing from a larger batch), so a narrow crop is never batched
    with a much wider one.
    """
    batches: list[list[int]] = []
    for k in (int(i) for i in np.argsort(ratios, kind="stable")):
        width = max(ratios[k], min_ratio)
        if batches and len(batches[-1]) < size and width <= BATCH_SPREAD * max(ratios[batches[-1][0]], min_ratio):
            batches[-1].append(k)
        else:
            batches.append([k])
    return batches


WATCHED = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
"""Characters whose probabilities are kept as alternatives (the MRZ alphabet)."""


def _watched(charset: list[str]) -> npt.NDArray[np.intp]:
    index = {c: i for i, c in enumerate(charset)}
    return np.asarray([index[c] for c in WATCHED if c in index], dtype=np.intp)


def _ctc_decode(
    probs: npt.NDArray[np.float32], charset: list[str], watched: npt.NDArray[np.intp] | None = None
) -> ReadText:
    """Greedy CTC decoding of one line's (steps x classes) probabilities, keeping per-character evidence.

    Alternatives are kept only among ``watched`` class indices (default: the MRZ alphabet).
    """
    if watched is None:
        watched = _watched(charset)
    best = probs.argmax(axis=1)
    text: list[str] = []
    confs: list[float] = []
    alts: list[Alternatives] = []
    step = 0
    while step < len(best):
        idx = int(best[step])
        end = step + 1
        while end < len(best) and best[end] == idx:
            end += 1
        if idx != 0:  # 0 is the CTC blank
            span = probs[step:end][:, watched].max(axis=0)
            text.append(charset[idx])
            confs.append(float(probs[step:end, idx].max()))
            alts.append(
                tuple(
                    (charset[int(watched[j])], float(span[j]))
                    for j in np.flatnonzero(span >= MIN_ALTERNATIVE)
                    if int(watched[j]) != idx
                )
            )
        step = end
    score = float(np.mean(confs)) if confs else 0.0
    return "".join(text), score, tuple(confs), tuple(alts)


def _quad(box: Any) -> Quad:
    pts = [(float(x), float(y)) for x, y in np.asarray(box, dtype=np.float64).reshape(4, 2)]
    return (pts[0], pts[1], pts[2], pts[3])


def crop_quad(image: npt.NDArray[np.uint8], quad: Quad, *, pad: float = 0.0) -> npt.NDArray[np.uint8]:
    """The quad's content warped to an upright rectangle (optionally grown by ``pad`` x its height)."""
    pts = np.asarray(quad, dtype=np.float32)
    width = max(1, round(float(max(np.linalg.norm(pts[1] - pts[0]), np.linalg.norm(pts[2] - pts[3])))))
    height = max(1, round(float(max(np.linalg.norm(pts[3] - pts[0]), np.linalg.norm(pts[2] - pts[1])))))
    if pad:
        ux = (pts[1] - pts[0]) / max(width, 1)
        uy = (pts[3] - pts[0]) / max(height, 1)
        d = pad * height
        pts = (pts + np.stack([-ux - uy, ux - uy, ux + uy, -ux + uy]) * d).astype(np.float32)
        width, height = round(width + 2 * d), round(height + 2 * d)
    target = np.asarray([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(pts, target)
    crop = cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(crop, dtype=np.uint8)
