"""template keys: the template version (projection scheme) each key makes

Adds ``template_keys.template_version``: 1 for every existing key (independent Gaussian
hyperplanes, the only scheme before), 2 for super-bit keys (blocks of orthonormal hyperplanes).
A key keeps its version, so its stored templates keep matching; rotation moves an app to a key of
the current default version.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("template_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("template_keys", schema=None) as batch_op:
        batch_op.drop_column("template_version")
