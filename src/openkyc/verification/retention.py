"""Retention of verification results and hosted verification sessions (registered with the sweep)."""

from __future__ import annotations

from sqlalchemy import and_, delete, or_, select

from openkyc.privacy.steps import BATCH, SweepContext, register, rowcount
from openkyc.privacy.vocabulary import RetentionKind
from openkyc.store.models.verification import ReflectSequenceRow, VerificationResult, VerificationSession


@register(RetentionKind.VERIFICATION_RESULT, "verification_results")
def verification_results(ctx: SweepContext) -> int:
    """Results past the period in force: the policy's, their rule's, or the one stored with the row.

    A rule's shorter ``result_hours`` deletes the rows made under that rule (the API already stops
    showing a result at its ``expires_at``), and only those: another rule of the same app, or no
    rule, keeps its own period. A rule shortened after a result was stored applies to it too. Rows
    written before migration 0018 (``rule_recorded`` false) get their app's shortest rule, as before.
    """
    kind = RetentionKind.VERIFICATION_RESULT
    row = VerificationResult
    expired = or_(
        row.expires_at <= ctx.now,
        row.created_at < ctx.cutoff(kind),
        *(
            and_(row.rule_id == rule_id, row.rule_recorded.is_(True), row.created_at < cutoff)
            for rule_id, cutoff in ctx.rules_with_override(kind).items()
        ),
        *(
            and_(row.app_id == app_id, row.rule_recorded.is_(False), row.created_at < cutoff)
            for app_id, cutoff in ctx.apps_with_override(kind).items()
        ),
    )
    result = ctx.session.execute(delete(VerificationResult).where(expired).execution_options(synchronize_session=False))
    return rowcount(result)


@register(RetentionKind.VERIFICATION_SESSION, "verification_sessions")
def verification_sessions(ctx: SweepContext) -> int:
    """Hosted sessions older than the policy's period, with their reference photo and sealed ``extra``."""
    rows = ctx.session.execute(
        select(VerificationSession.biz_token, VerificationSession.compare_blob_id)
        .where(VerificationSession.created_at < ctx.cutoff(RetentionKind.VERIFICATION_SESSION))
        .limit(BATCH)
    ).all()
    if not rows:
        return 0
    ctx.delete_blobs([blob_id for _, blob_id in rows if blob_id])
    ctx.session.execute(
        delete(VerificationSession)
        .where(VerificationSession.biz_token.in_([token for token, _ in rows]))
        .execution_options(synchronize_session=False)
    )
    return len(rows)


@register(None, "reflect_sequences")
def reflect_sequences(ctx: SweepContext) -> int:
    """Single-use reflection colour sequences past their expiry (no personal data; housekeeping)."""
    result = ctx.session.execute(
        delete(ReflectSequenceRow)
        .where(ReflectSequenceRow.expires_at <= ctx.now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
