"""liveness challenges: single-use timed schedules of actions and colours

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import openkyc.store.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "liveness_challenges",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("session_ref", sa.String(length=128), nullable=True),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("created_at", openkyc.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", openkyc.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", openkyc.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_liveness_challenges_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_liveness_challenges")),
    )
    with op.batch_alter_table("liveness_challenges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_liveness_challenges_app_id"), ["app_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_liveness_challenges_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_liveness_challenges_session_ref"), ["session_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("liveness_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_liveness_challenges_session_ref"))
        batch_op.drop_index(batch_op.f("ix_liveness_challenges_expires_at"))
        batch_op.drop_index(batch_op.f("ix_liveness_challenges_app_id"))
    op.drop_table("liveness_challenges")
