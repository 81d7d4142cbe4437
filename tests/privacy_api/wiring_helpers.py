"""Helpers shared by the privacy wiring tests."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from PIL import Image
from sqlalchemy import select

from openkyc.store.models.privacy import AuditRecord


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_bytes(size: int = 160, colour: tuple[int, int, int] = (120, 90, 60)) -> bytes:
    """A small synthetic image (for paths that store images without running the face models)."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def cli_json(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def audit_events(runtime: Any, event_type: str | None = None) -> list[AuditRecord]:
    with runtime.transaction() as session:
        query = select(AuditRecord).order_by(AuditRecord.seq)
        if event_type is not None:
            query = query.where(AuditRecord.event_type == event_type)
        return list(session.scalars(query))
