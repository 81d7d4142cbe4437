"""Migration 0018 records the rule of each verification result and blob; older rows say "not recorded".

Runs on SQLite and, with OPENKYC_TEST_DATABASE_URL, on a fresh PostgreSQL database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, MetaData, inspect, select

from openkyc.store import db

pytestmark = pytest.mark.db

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _tables(engine: Engine) -> dict[str, object]:
    meta = MetaData()
    meta.reflect(engine)
    return dict(meta.tables)


def _seed(engine: Engine) -> None:
    """One result and one blob as revision 0017 stored them (no rule recorded)."""
    t = _tables(engine)
    with engine.begin() as connection:
        connection.execute(t["accounts"].insert(), [{"id": 1, "name": "acc", "created_at": T0}])  # type: ignore[attr-defined]
        connection.execute(t["apps"].insert(), [{"id": 10, "account_id": 1, "name": "a", "created_at": T0}])  # type: ignore[attr-defined]
        connection.execute(
            t["verification_results"].insert(),  # type: ignore[attr-defined]
            [
                {
                    "id": "ver-old", "app_id": 10, "kind": "selfie", "subject_id": None, "subject_id_enc": None,
                    "result_code": "Success", "live": True, "sim": 90.0, "details": {}, "identification_enc": None,
                    "created_at": T0, "expires_at": T0 + timedelta(hours=72),
                }
            ],
        )  # fmt: skip
        connection.execute(
            t["blobs"].insert(),  # type: ignore[attr-defined]
            [
                {
                    "id": "bl-old", "app_id": 10, "kind": "face_image", "subject_id": None, "size": 3,
                    "created_at": T0, "expires_at": T0 + timedelta(hours=2), "key_version": 1,
                }
            ],
        )  # fmt: skip


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_rows_before_0018_are_marked_as_not_recording_their_rule(fresh_engine: Engine) -> None:
    db.upgrade(fresh_engine, "0017")
    _seed(fresh_engine)
    db.upgrade(fresh_engine, "0018")

    t = _tables(fresh_engine)
    with fresh_engine.connect() as connection:
        for table, row_id in (("verification_results", "ver-old"), ("blobs", "bl-old")):
            c = t[table].c  # type: ignore[attr-defined]
            rule_id, recorded = connection.execute(select(c.rule_id, c.rule_recorded).where(c.id == row_id)).one()
            assert rule_id is None and not recorded, table

    db.downgrade(fresh_engine, "0017")
    for table in ("verification_results", "blobs"):
        assert not {"rule_id", "rule_recorded"} & _columns(fresh_engine, table)
    t = _tables(fresh_engine)
    with fresh_engine.connect() as connection:  # the rows themselves survive the way down
        assert connection.execute(select(t["verification_results"].c.id)).scalars().all() == ["ver-old"]  # type: ignore[attr-defined]
        assert connection.execute(select(t["blobs"].c.id)).scalars().all() == ["bl-old"]  # type: ignore[attr-defined]
    db.upgrade(fresh_engine)
    for table in ("verification_results", "blobs"):
        assert {"rule_id", "rule_recorded"} <= _columns(fresh_engine, table)
