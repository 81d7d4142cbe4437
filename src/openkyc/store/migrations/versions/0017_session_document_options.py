"""hosted sessions: the document step's own options

Adds ``verification_sessions.document_options`` (JSON, NULL for every existing session): what
the session's creator asked of its document step over the rule, the document types it takes and
whether an expired document passes (Tencent's ``IDCardType`` and ``AllowExpiredDocument``).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verification_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_options", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verification_sessions", schema=None) as batch_op:
        batch_op.drop_column("document_options")
