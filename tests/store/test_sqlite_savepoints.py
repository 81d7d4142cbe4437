"""A savepoint inside a transaction never commits on its own (SQLite's driver begins lazily)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from openkyc.store import db


@pytest.mark.parametrize("read_first", [True, False])
def test_work_in_a_savepoint_is_rolled_back_with_its_transaction(tmp_path: Path, read_first: bool) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    sessions = db.session_factory(engine)
    with pytest.raises(RuntimeError), db.transaction(sessions) as session:
        if read_first:
            session.execute(text("SELECT 1"))
        with session.begin_nested():
            session.execute(text("INSERT INTO t VALUES (1)"))
        session.execute(text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("the request failed after the savepoint")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
    engine.dispose()
