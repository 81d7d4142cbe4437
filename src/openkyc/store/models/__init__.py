"""Every table, registered on one metadata (imported by migrations and the app)."""

from openkyc.store.base import Base
from openkyc.store.models import (
    accounts,
    config,
    diagnostics,
    faces,
    idempotency,
    liveness,
    media,
    privacy,
    verification,
    webhooks,
)

__all__ = [
    "Base",
    "accounts",
    "config",
    "diagnostics",
    "faces",
    "idempotency",
    "liveness",
    "media",
    "privacy",
    "verification",
    "webhooks",
]
