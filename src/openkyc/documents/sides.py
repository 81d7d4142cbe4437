"""Two-sided documents: which photo needs the other side, and one result from both sides.

ID cards carry their data on two sides: the national cards read by templates (HK ID, MyKad,
NRIC/FIN, NIK) are photographed front and back, and a TD1 card has its portrait and visual zone on
the front and its MRZ on the back. A passport's photo page (TD3), a TD2 card or a visa carries the
MRZ and the portrait on the side photographed, and needs nothing else.

:func:`combine` reads both sides as one document: the MRZ (and its verdict) from the side that has
one, else the side a template matched, else the front; the fields of both sides (the primary
side's win); the portrait of the front, else of the back; the warnings of both sides.
"""

from __future__ import annotations

from dataclasses import replace

from openkyc.documents.reader import SUCCESS, DocumentResult
from openkyc.errors import DocumentNotFound, DocumentUnrecognized

NOT_FOUND = DocumentNotFound.code
UNRECOGNIZED = DocumentUnrecognized.code


def needs_back(front: DocumentResult) -> bool:
    """Whether the other side of the document photographed in ``front`` is needed."""
    if front.code == NOT_FOUND:
        return False  # no document at all: take the photo again, not the other side
    if front.mrz is not None:
        # the MRZ side of a TD1 card: its portrait is on the other side
        return front.mrz.format == "TD1" and front.portrait is None
    # a card read by a template, or text without an MRZ (a TD1 card's front: the MRZ is on the back)
    return front.code in {SUCCESS, UNRECOGNIZED}


def combine(front: DocumentResult, back: DocumentResult | None) -> DocumentResult:
    """One result from both sides (``front`` as it is when there is no back)."""
    if back is None:
        return front
    if front.mrz is not None:
        primary, other = front, back
    elif back.mrz is not None:
        primary, other = back, front
    elif front.code == SUCCESS or back.code != SUCCESS:
        primary, other = front, back
    else:
        primary, other = back, front
    return replace(
        primary,
        fields={**other.fields, **primary.fields},
        warnings=tuple(dict.fromkeys((*front.warnings, *back.warnings))),
        portrait=front.portrait if front.portrait is not None else back.portrait,
    )
