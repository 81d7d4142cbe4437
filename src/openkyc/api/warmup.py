"""Start-up warm-up of the request path (issue 13: the first request is served like the tenth).

:meth:`openkyc.runtime.ModelSet.warm_up` runs each model once; this module does the rest of what
a process otherwise pays on its first request: Pillow's image plugins (imported on the first
``Image.open``), SQLAlchemy's mapper configuration, and one pass of the request-side image work
(decoding an encoded JPEG, the OCR reader on a synthetic document) through the same functions the
routes call. Everything runs on generated images (no person, no real document) and nothing is
written: no database row, no file, no usage or audit record.
"""

from __future__ import annotations

from datetime import date

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["synthetic_document", "warm_process"]

_SPECIMEN_MRZ = (
    "P<UTOSPECIMEN<<WARMUP<<<<<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)  # the ICAO 9303 specimen's numbers with a made-up name: no real person's document


def synthetic_document(width: int = 1000, height: int = 700) -> npt.NDArray[np.uint8]:
    """A passport-like page drawn in code: a few text lines and an ICAO-style MRZ band."""
    page = np.full((height, width, 3), 235, np.uint8)
    cv2.rectangle(page, (40, 120), (300, 460), (180, 180, 180), -1)  # a blank portrait area
    font = cv2.FONT_HERSHEY_SIMPLEX
    for row, text in enumerate(("PASSPORT", "SURNAME SPECIMEN", "GIVEN NAMES WARMUP", "DATE OF BIRTH 12 AUG 1974")):
        cv2.putText(page, text, (340, 160 + 70 * row), font, 1.0, (30, 30, 30), 2, cv2.LINE_AA)
    mono = cv2.FONT_HERSHEY_PLAIN
    scale = (width - 60) / cv2.getTextSize(_SPECIMEN_MRZ[0], mono, 1.0, 2)[0][0]  # the band spans the page
    for row, line in enumerate(_SPECIMEN_MRZ):
        cv2.putText(page, line, (30, height - 110 + 55 * row), mono, scale, (0, 0, 0), 2, cv2.LINE_AA)
    return page


def warm_process() -> None:
    """Once per process, before the models: the lazily imported and lazily built parts."""
    from PIL import Image
    from sqlalchemy.orm import configure_mappers

    from openkyc.biometrics.images import decode_image

    Image.init()  # every Pillow format plugin, imported on first use otherwise
    configure_mappers()  # the ORM's relationships and attribute instrumentation
    jpeg = cv2.imencode(".jpg", synthetic_document(320, 240))[1].tobytes()
    png = cv2.imencode(".png", synthetic_document(320, 240))[1].tobytes()
    for encoded in (jpeg, png):
        decode_image(encoded)


def warm_documents(reader: object, today: date) -> None:
    """The OCR reader once on an encoded synthetic document, through ``read_bytes`` as the route
    does: text detection and recognition at a document's line shapes, the MRZ parser and checks."""
    from openkyc.errors import OpenKYCError

    encoded = cv2.imencode(".jpg", synthetic_document())[1].tobytes()
    try:
        reader.read_bytes(encoded, today=today)  # type: ignore[attr-defined]
    except OpenKYCError:
        pass  # whatever the reader makes of a drawn page: its models and parsers ran
