"""Structured logging: JSON lines carrying the RequestId, never personal data."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

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
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Configure the ``openkyc`` logger tree once (idempotent)."""
    logger = logging.getLogger("openkyc")
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if getattr(handler, "_openkyc", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._openkyc = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    for extra in extra_filters():
        handler.addFilter(extra)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logger.addHandler(handler)
    logger.propagate = True


def extra_filters() -> list[logging.Filter]:
    """Filters every handler gets (the personal-data redaction filter)."""
    try:
        from openkyc.privacy.redaction import RedactingFilter
    except ImportError:  # pragma: no cover - the privacy package always ships it
        return []
    return [RedactingFilter()]
