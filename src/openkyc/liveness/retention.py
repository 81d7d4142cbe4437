"""Retention of liveness challenges (registered with the sweep): expired ones are deleted."""

from __future__ import annotations

from openkyc.liveness.service import delete_expired
from openkyc.privacy.steps import SweepContext, register


@register(None, "liveness_challenges")
def liveness_challenges(ctx: SweepContext) -> int:
    """Single-use timed challenges past their expiry (no personal data; housekeeping)."""
    return delete_expired(ctx.session, ctx.now)
