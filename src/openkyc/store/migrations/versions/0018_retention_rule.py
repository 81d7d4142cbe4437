"""retention per rule: the rule each verification result and blob was made under

Adds ``rule_id`` (String, NULL: made with the defaults, no rule) and ``rule_recorded`` (Boolean)
to ``verification_results`` and ``blobs``. The retention sweep applies the recorded rule's
``result_hours`` / ``media_hours`` to a row, and no other rule of its app. Existing rows get
``rule_recorded`` false (their rule is not known): the sweep keeps treating them as before this
revision, with the shortest period of their app's rules. New rows are written with true.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLES = ("verification_results", "blobs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("rule_id", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("rule_recorded", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("rule_recorded")
            batch_op.drop_column("rule_id")
