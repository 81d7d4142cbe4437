"""Log hygiene: a logging filter that redacts personal data, and self-masking values.

:class:`RedactingFilter` rewrites each record's message (arguments merged in) and exception text,
replacing:

* long base64 or hex runs (> 64 characters: images, videos, templates, embeddings), data URLs;
* MRZ lines (runs of ``A-Z0-9<`` with at least one ``<``, 20 characters or more);
* date-like values (``1990-01-31``, ``31.01.1990``, ``31/01/1990``, ``31 JAN 1990``), except when
  part of a timestamp (``2024-05-01T10:00``, ``2024-05-01 10:00``);
* ID-number-like tokens: six or more digits, optionally with a short letter prefix or a check
  character (``X1234567``, ``11010519491231002X``), upper-case letter-and-digit tokens with five
  or more digits (``L898902C3``), and ``123-45-6789`` style numbers;
* e-mail addresses;
* values registered for the current request with :func:`sensitive_values` (names read from a
  document, the subject's ID number, ...), as whole values and word by word (3+ characters).

Install it on the root handlers with :func:`install`. :class:`Sensitive` wraps a value whose
``repr``/``str``/``format`` are masked (like starlette's ``Secret``); ``PersonalStr`` is
``Sensitive[str]``.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

__all__ = [
    "MASK",
    "PersonalStr",
    "RedactingFilter",
    "Sensitive",
    "contains_personal_data",
    "install",
    "redact",
    "sensitive_values",
]

MASK = "[REDACTED]"
T = TypeVar("T")

_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("data-url", re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=_-]*")),
    ("blob", re.compile(r"[A-Za-z0-9+/_-]{65,}={0,2}")),
    ("mrz", re.compile(r"(?<![A-Z0-9<])(?=[A-Z0-9<]*<)[A-Z0-9<]{20,}(?![A-Z0-9<])")),
    (
        "date",
        re.compile(
            r"(?<![\d-])(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"
            r"(?![\d]|[T ]\d{1,2}:)"
        ),
    ),
    (
        "date",
        re.compile(r"(?<![\d.])(?:0?[1-9]|[12]\d|3[01])[./](?:0?[1-9]|1[0-2])[./](?:19|20)\d{2}(?!\d)"),
    ),
    (
        "date",
        re.compile(
            rf"(?<!\w)(?:0?[1-9]|[12]\d|3[01])[ -](?:{_MONTHS})[A-Z]*[ -,]*(?:19|20)\d{{2}}(?!\d)",
            re.IGNORECASE,
        ),
    ),
    ("ssn", re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")),
    ("id-number", re.compile(r"(?<![\w-])[A-Za-z]{0,3}\d{6,}[A-Za-z]?(?![\w-])")),
    ("id-number", re.compile(r"(?<![\w-])(?=(?:[A-Z]*\d){5})[A-Z0-9]{6,20}(?![\w-])")),
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
)

_registered: ContextVar[tuple[str, ...]] = ContextVar("openkyc_sensitive_values", default=())


@contextlib.contextmanager
def sensitive_values(values: Iterable[str | None]) -> Iterator[None]:
    """Redact these values (and their words of 3+ characters) from logs within the block."""
    found: set[str] = set(_registered.get())
    for value in values:
        if not value:
            continue
        text = str(value).strip()
        if len(text) >= 3:
            found.add(text)
        found.update(word for word in re.split(r"[\s<,;/]+", text) if len(word) >= 3)
    token = _registered.set(tuple(sorted(found, key=len, reverse=True)))
    try:
        yield
    finally:
        _registered.reset(token)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with personal data replaced by ``[REDACTED:<kind>]``."""
    for kind, pattern in _PATTERNS:
        text = pattern.sub(f"{MASK[:-1]}:{kind}]", text)
    for value in (*_registered.get(), *extra):
        if value:
            needle = rf"(?<!\w){re.escape(value)}(?!\w)"
            text = re.sub(needle, f"{MASK[:-1]}:value]", text, flags=re.IGNORECASE)
    return text


def contains_personal_data(text: str, extra: Iterable[str] = ()) -> bool:
    """Whether :func:`redact` would change ``text``; used by tests that scan logs and by audit."""
    return redact(text, extra) != text


class RedactingFilter(logging.Filter):
    """Redacts the message and the exception text of every record; never drops a record."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        super().__init__()
        self.extra = tuple(extra)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message, self.extra)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.extra)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.extra)
        return True


def install(logger: logging.Logger | None = None) -> RedactingFilter:
    """Add one :class:`RedactingFilter` to every handler of ``logger`` (default: root)."""
    target = logger or logging.getLogger()
    log_filter = RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(log_filter)
    return log_filter


class Sensitive(Generic[T]):
    """A value that masks itself in ``repr``, ``str`` and f-strings; ``reveal()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return f"{type(self).__name__}('**********')"

    def __str__(self) -> str:
        return "**********"

    def __format__(self, spec: str) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and bool(self._value == other._value)

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        return (type(self), (self._value,))


PersonalStr = Sensitive[str]
