"""hosted flow: check mode, language, consent, chosen liveness mode and the last attempt of a session

Adds to ``verification_sessions``: ``check_mode`` (NULL on older rows: derived from the reference
photo), ``language`` (the session's language, NULL: the rule's or the browser's), ``consent_id``
(the end user's recorded agreement to the notice), ``liveness_mode`` (the end user's choice of a
mode without flashes where the rule allows it), ``last_attempt_id`` and ``last_reply`` (the answer
to the last attempt, so that a retried upload is answered again instead of counted twice).

Revision ID: 0015
Revises: 0012
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None

_COLUMNS = ("last_reply", "last_attempt_id", "liveness_mode", "consent_id", "language", "check_mode")


def upgrade() -> None:
    with op.batch_alter_table("verification_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_mode", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("consent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("liveness_mode", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("last_attempt_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("last_reply", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verification_sessions", schema=None) as batch_op:
        for name in _COLUMNS:
            batch_op.drop_column(name)
