"""Retention of enrolled templates and of the identification given with them (registered with the sweep).

Two periods apply to a row of ``subjects``: the identification fields sealed on it (name, ID
number, date of birth, address, country) expire after ``enrolment_identification`` (3 days), and
are deleted while the template stays; the template itself (with its retained photo) expires after
``face_template`` (2 years). A deleted template is also removed from every process's 1:N index:
the step appends a ``remove`` index event, as an erasure does.
"""

from __future__ import annotations

from sqlalchemy import select, update

from openkyc.privacy.steps import BATCH, SweepContext, register, rowcount
from openkyc.privacy.vocabulary import RetentionKind
from openkyc.store.models.faces import IndexEvent, Subject


@register(RetentionKind.ENROLMENT_IDENTIFICATION, "enrolment_identification")
def enrolment_identification(ctx: SweepContext) -> int:
    """Delete the sealed identification fields of templates enrolled before the period; keep the template."""
    result = ctx.session.execute(
        update(Subject)
        .where(
            Subject.identification_enc.is_not(None),
            Subject.created_at < ctx.cutoff(RetentionKind.ENROLMENT_IDENTIFICATION),
        )
        .values(identification_enc=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


@register(RetentionKind.FACE_TEMPLATE, "face_templates")
def face_templates(ctx: SweepContext) -> int:
    """Delete templates enrolled before the period, their retained photo, and their index entries."""
    rows = ctx.session.execute(
        select(Subject.id, Subject.collection_id, Subject.image_blob_id)
        .where(Subject.created_at < ctx.cutoff(RetentionKind.FACE_TEMPLATE))
        .order_by(Subject.id)
        .limit(BATCH)
    ).all()
    if not rows:
        return 0
    ctx.delete_blobs([blob_id for _, _, blob_id in rows if blob_id])
    for row_id, collection_id, _ in rows:
        ctx.session.add(IndexEvent(collection_id=collection_id, subject_row=row_id, op="remove", created_at=ctx.now))
    for row in ctx.session.scalars(select(Subject).where(Subject.id.in_([r[0] for r in rows]))):
        ctx.session.delete(row)
    ctx.session.flush()
    return len(rows)
