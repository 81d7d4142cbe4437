"""concurrency: one version number per rule change, one active template key per app

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:58:32.142445

Before the constraints are added, rows left by earlier races are repaired:
- an app with several active template keys keeps its newest one active (the others stay, inactive,
  so the templates made with them still compare until they are re-issued);
- a rule whose history holds a version number twice has its changes renumbered 1..n in the order
  they were made (version, then time, then row id), and the rule takes version n.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_keys = sa.table(
    "template_keys",
    sa.column("key_id", sa.String),
    sa.column("app_id", sa.BigInteger),
    sa.column("active", sa.Boolean),
    sa.column("created_at", sa.DateTime),
)
_changes = sa.table(
    "rule_changes",
    sa.column("id", sa.Integer),
    sa.column("rule_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("changed_at", sa.DateTime),
)
_rules = sa.table("rules", sa.column("id", sa.String), sa.column("version", sa.Integer))


def _keep_newest_active_key() -> None:
    newer = _keys.alias("newer")
    newest = (
        sa.select(newer.c.key_id)
        .where(newer.c.app_id == _keys.c.app_id, newer.c.active.is_(True))
        .order_by(newer.c.created_at.desc(), newer.c.key_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    op.execute(_keys.update().where(_keys.c.active.is_(True), _keys.c.key_id != newest).values(active=False))


def _renumber_duplicate_rule_versions() -> None:
    connection = op.get_bind()
    duplicated = connection.execute(
        sa.select(_changes.c.rule_id)
        .group_by(_changes.c.rule_id, _changes.c.version)
        .having(sa.func.count() > 1)
        .distinct()
    ).scalars()
    for rule_id in sorted(set(duplicated)):
        ids = connection.execute(
            sa.select(_changes.c.id)
            .where(_changes.c.rule_id == rule_id)
            .order_by(_changes.c.version, _changes.c.changed_at, _changes.c.id)
        ).scalars()
        number = 0
        for number, change_id in enumerate(list(ids), start=1):
            connection.execute(_changes.update().where(_changes.c.id == change_id).values(version=number))
        connection.execute(_rules.update().where(_rules.c.id == rule_id).values(version=number))


def upgrade() -> None:
    _keep_newest_active_key()
    _renumber_duplicate_rule_versions()
    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_rule_changes_rule_id"), ["rule_id", "version"])

    with op.batch_alter_table("template_keys", schema=None) as batch_op:
        batch_op.create_index(
            "uq_template_keys_active_app",
            ["app_id"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )


def downgrade() -> None:
    with op.batch_alter_table("template_keys", schema=None) as batch_op:
        batch_op.drop_index("uq_template_keys_active_app")

    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_rule_changes_rule_id"), type_="unique")
