"""Structured logging: JSON lines carrying the RequestId, never personal data."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

request_id_var: ContextVar[str | None] = ContextVar("openkyc_request_id", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "request_id"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            payload["exc_type"] = record.exc_info[0].__name__
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:  # the traceback, already redacted by the RedactingFilter
            payload["traceback"] = record.exc_text
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Configure the ``openkyc`` logger tree once (idempotent)."""
    logger = logging.getLogger("openkyc")
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if getattr(handler, "_openkyc", False):
            logger.removeHandler(handler)
    handler = make_handler(sys.stderr, fmt)
    handler._openkyc = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = True


def make_handler(stream: TextIO, fmt: str = "json") -> logging.Handler:
    """A handler writing to ``stream`` with the RequestId and the redaction filter (JSON or text lines)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    for extra in extra_filters():
        handler.addFilter(extra)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    return handler


def extra_filters() -> list[logging.Filter]:
    """Filters every handler gets (the personal-data redaction filter)."""
    try:
        from openkyc.privacy.redaction import RedactingFilter
    except ImportError:  # pragma: no cover - the privacy package always ships it
        return []
    return [RedactingFilter()]
