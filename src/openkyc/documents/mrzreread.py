"""Second readings of an MRZ whose check digits fail: the same lines, cropped and prepared differently.

PP-OCR confuses OCR-B ``Z``/``2`` and ``O``/``0`` on a grey, slightly blurred crop far more often
than on the same crop binarised. When the first reading fails a check, the MRZ line crops are read
again under each :class:`Preparation` in turn (adaptive threshold, Otsu threshold, a padded crop,
a crop normalised to the recogniser's height), and the first *whole* reading whose every check
digit holds replaces the first one. Every candidate is a genuine reading of the pixels by the
recogniser: nothing is substituted, and lines of different readings are never mixed. When no
second reading passes, the first reading stands as read (``valid`` false), so a document printed
with a wrong check digit is reported with its digits as printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from openkyc.documents.mrzfind import MrzFinding, find_mrz
from openkyc.documents.ocr import LineReader, Quad, TextLine, crop_quad, read_lines

MIN_LINE_SCORE = 0.3


@dataclass(frozen=True, slots=True)
class Preparation:
    """How to cut and prepare a line crop before it is read again.

    ``pad`` grows the crop by that many line heights on every side; ``binarise`` is ``"adaptive"``
    (Gaussian adaptive threshold, ``block`` pixels, offset ``offset``), ``"otsu"`` or None;
    ``height`` rescales the crop to that many pixels high (None keeps its size).
    """

    name: str
    pad: float = 0.0
    binarise: Literal["adaptive", "otsu"] | None = None
    height: int | None = None
    block: int = 31
    offset: int = 10


PREPARATIONS: tuple[Preparation, ...] = (
    Preparation("adaptive", binarise="adaptive"),
    Preparation("otsu", binarise="otsu"),
    Preparation("padded", pad=0.12),
    Preparation("padded_h32", pad=0.25, height=32),
)
"""Tried in this order (the order of how many rendered failures each one fixed, measured)."""


def prepare(crop: npt.NDArray[np.uint8], prep: Preparation) -> npt.NDArray[np.uint8]:
    """``crop`` (BGR) binarised and/or rescaled as ``prep`` says; still a 3-channel BGR image."""
    out = crop
    if prep.height is not None and crop.shape[0] > 0:
        scale = prep.height / crop.shape[0]
        out = np.asarray(cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)
    if prep.binarise is None:
        return out
    grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    if prep.binarise == "adaptive":
        binary = cv2.adaptiveThreshold(
            grey, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, prep.block | 1, prep.offset
        )
    else:
        _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return np.asarray(cv2.cvtColor(binary, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def read_prepared(
    reader: LineReader, image: npt.NDArray[np.uint8], quads: Sequence[Quad], prep: Preparation
) -> list[TextLine]:
    """The lines in ``quads`` read from crops prepared by ``prep`` (empty or weak readings dropped)."""
    crops = [prepare(crop_quad(image, q, pad=prep.pad), prep) for q in quads]
    texts = read_lines(reader, crops)
    return [
        TextLine(t, q, s, c, a)
        for q, (t, s, c, a) in zip(quads, texts, strict=False)
        if t.strip() and s >= MIN_LINE_SCORE
    ]


def reread_mrz(
    reader: LineReader,
    image: npt.NDArray[np.uint8],
    finding: MrzFinding,
    *,
    today: date,
    preparations: Sequence[Preparation] = PREPARATIONS,
) -> MrzFinding:
    """The first second reading of ``finding``'s lines whose every check holds, else ``finding`` itself."""
    if finding.result.valid:
        return finding
    for prep in preparations:
        second = find_mrz(read_prepared(reader, image, finding.quads, prep), today=today)
        if second is not None and second.result.valid and len(second.quads) == len(finding.quads):
            return second
    return finding
