"""Retention of consented model-improvement items (registered with the sweep)."""

from __future__ import annotations

from sqlalchemy import select

from openkyc.privacy.steps import BATCH, SweepContext, register
from openkyc.privacy.vocabulary import RetentionKind
from openkyc.store.models.privacy import ModelImprovementItem


@register(RetentionKind.MODEL_IMPROVEMENT_ITEM, "model_improvement_items")
def model_improvement_items(ctx: SweepContext) -> int:
    """Consented items older than the policy's period for model-improvement data, with their blobs."""
    cutoff = ctx.cutoff(RetentionKind.MODEL_IMPROVEMENT_ITEM)
    refs = list(
        ctx.session.scalars(
            select(ModelImprovementItem.blob_ref).where(ModelImprovementItem.created_at < cutoff).limit(BATCH)
        )
    )
    ctx.delete_blobs(refs)
    return len(refs)
