"""Migration 0006 repairs what earlier races left (extra active keys, duplicate rule versions), then constrains.

Runs on SQLite and, with OPENKYC_TEST_DATABASE_URL, on a fresh PostgreSQL database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select
from sqlalchemy.exc import IntegrityError

from openkyc.store import db

pytestmark = pytest.mark.db

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _seed(engine: Engine) -> None:
    """Rows as the races left them under revision 0005."""
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as connection:
        connection.execute(t["accounts"].insert(), [{"id": 1, "name": "acc", "created_at": T0}])
        connection.execute(
            t["apps"].insert(),
            [
                {"id": 10, "account_id": 1, "name": "raced", "created_at": T0},
                {"id": 20, "account_id": 1, "name": "calm", "created_at": T0},
            ],
        )
        keys = [  # app 10: three active keys from concurrent first use, one retired key
            ("tk-old", 10, False, T0 - timedelta(days=1)),
            ("tk-a", 10, True, T0),
            ("tk-c", 10, True, T0 + timedelta(seconds=2)),
            ("tk-b", 10, True, T0 + timedelta(seconds=1)),
            ("tk-calm", 20, True, T0),
        ]
        connection.execute(
            t["template_keys"].insert(),
            [
                {"key_id": k, "app_id": a, "secret_enc": b"x", "bits": 1024, "active": on, "created_at": at}
                for k, a, on, at in keys
            ],
        )
        for rule_id, app_id, version in (("rule-raced", 10, 3), ("rule-calm", 20, 2)):
            connection.execute(
                t["resources"].insert(),
                [{"id": rule_id, "app_id": app_id, "kind": "rule", "name": rule_id, "created_at": T0}],
            )
            connection.execute(
                t["rules"].insert(),
                [
                    {
                        "id": rule_id,
                        "app_id": app_id,
                        "version": version,
                        "config": {},
                        "created_at": T0,
                        "updated_at": T0,
                    }
                ],
            )
        changes = [  # rule-raced: 1, 2, 2, 3, 3 (two pairs of racing updates); rule-calm: 1, 2
            ("rule-raced", 1, 0, 1),
            ("rule-raced", 3, 4, 5),
            ("rule-raced", 2, 1, 2),
            ("rule-raced", 2, 2, 3),
            ("rule-raced", 3, 3, 4),
            ("rule-calm", 1, 0, 1),
            ("rule-calm", 2, 1, 2),
        ]
        connection.execute(
            t["rule_changes"].insert(),
            [
                {
                    "rule_id": rule_id,
                    "version": version,
                    "changed_by": "x",
                    "changed_at": T0 + timedelta(seconds=second),
                    "old_config": None,
                    "new_config": {"n": n},
                }
                for rule_id, version, second, n in changes
            ],
        )


def test_upgrade_deduplicates_then_constrains(fresh_engine: Engine) -> None:
    db.upgrade(fresh_engine, "0005")
    _seed(fresh_engine)
    db.upgrade(fresh_engine)

    meta = MetaData()
    meta.reflect(fresh_engine)
    keys, changes, rules = meta.tables["template_keys"], meta.tables["rule_changes"], meta.tables["rules"]
    with fresh_engine.connect() as connection:
        active = dict(connection.execute(select(keys.c.key_id, keys.c.active)).all())
        history = connection.execute(
            select(changes.c.rule_id, changes.c.version, changes.c.new_config).order_by(
                changes.c.rule_id, changes.c.version
            )
        ).all()
        versions = dict(connection.execute(select(rules.c.id, rules.c.version)).all())

    assert {k: bool(v) for k, v in active.items()} == {
        "tk-old": False,
        "tk-a": False,
        "tk-b": False,
        "tk-c": True,  # the newest stays active; the others stay too, for their templates
        "tk-calm": True,
    }
    raced = [(version, config["n"]) for rule_id, version, config in history if rule_id == "rule-raced"]
    assert raced == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]  # in the order the changes were made
    calm = [(version, config["n"]) for rule_id, version, config in history if rule_id == "rule-calm"]
    assert calm == [(1, 1), (2, 2)]
    assert versions == {"rule-raced": 5, "rule-calm": 2}

    with pytest.raises(IntegrityError), fresh_engine.begin() as connection:
        connection.execute(keys.update().where(keys.c.key_id == "tk-a").values(active=True))
    with pytest.raises(IntegrityError), fresh_engine.begin() as connection:
        connection.execute(
            changes.insert(),
            [
                {
                    "rule_id": "rule-calm",
                    "version": 2,
                    "changed_by": "x",
                    "changed_at": T0,
                    "old_config": None,
                    "new_config": {},
                }
            ],
        )

    db.downgrade(fresh_engine, "0005")
    db.upgrade(fresh_engine)


def test_models_keep_one_active_key_index(fresh_engine: Any) -> None:
    db.upgrade(fresh_engine)
    from sqlalchemy import inspect

    indexes = {ix["name"]: ix for ix in inspect(fresh_engine).get_indexes("template_keys")}
    assert indexes["uq_template_keys_active_app"]["unique"]
    uniques = inspect(fresh_engine).get_unique_constraints("rule_changes")
    assert any(u["column_names"] == ["rule_id", "version"] for u in uniques)
