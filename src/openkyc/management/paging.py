"""Keyset paging: newest first, ``limit`` rows, an opaque ``cursor`` for the next page.

The cursor encodes the sort key of the last row handed out (its time and id), so a page never
repeats or skips rows that were inserted meanwhile; it is checked, never trusted blindly: a cursor
that does not decode is 400 ``InvalidParameterValue.Cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from openkyc.errors import InvalidCursor, InvalidParameterValue

__all__ = ["MAX_LIMIT", "Page", "decode_cursor", "encode_cursor", "page"]

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, key: str, view: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
        return {key: [view(item) for item in self.items], "next_cursor": self.next_cursor, **self.extra}


def encode_cursor(when: datetime, row_id: Any) -> str:
    raw = json.dumps([when.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, row_id = json.loads(raw)
        if not isinstance(row_id, int | str) or isinstance(row_id, bool):
            raise ValueError("bad id")
        return datetime.fromisoformat(when), row_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameterValue(f"limit must be between 1 and {MAX_LIMIT}.", code="InvalidParameterValue.Limit")
    return limit


def page(
    session: Session,
    query: Select[Any] | Any,
    *,
    when: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[Any],
    limit: int | None,
    cursor: str | None,
    row: Callable[[Sequence[Any]], T] | None = None,
) -> Page[T]:
    """Runs ``query`` ordered by (``when``, ``key``) descending from ``cursor``; one row more than
    ``limit`` is read to know whether a next page exists."""
    size = check_limit(limit)
    if cursor:
        at, last = decode_cursor(cursor)
        query = query.where(or_(when < at, and_(when == at, key < last)))
    query = query.add_columns(when, key).order_by(when.desc(), key.desc()).limit(size + 1)
    rows = session.execute(query).all()
    more = len(rows) > size
    rows = rows[:size]
    items: list[Any] = [row(tuple(r)[:-2]) if row else r[0] for r in rows]
    next_cursor = None
    if more and rows:
        *_, last_when, last_key = tuple(rows[-1])
        next_cursor = encode_cursor(last_when, last_key)
    return Page(items, next_cursor)
