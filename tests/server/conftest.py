"""A real ``openkyc serve`` for the tests of this folder, a signed client, and a check that it survived.

One server per test module (starting one costs seconds of model loading), on its own database: a
fresh SQLite file, or the test PostgreSQL database when OPENKYC_TEST_DATABASE_URL is set (tests using
``live_server`` are marked ``db`` and run again on PostgreSQL). A test during which the server died
fails with the exit code or signal and the tail of the server's log; the next test gets a server
restarted on the same database. The server is stopped at the end of the module.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_harness import Credential, Database, LiveServer, ServerProcess, SignedClient


@pytest.fixture(scope="module")
def server_database_url(
    _server_database: str | None, _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database for one module's server (SQLite file, or the PostgreSQL test database)."""
    if _server_database is None:
        target = tmp_path_factory.mktemp("server") / "data" / "openkyc.db"
        target.parent.mkdir(parents=True)
        shutil.copy(_sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    from openkyc.store import db
    from openkyc.store.models import Base

    yield _server_database
    engine = db.make_engine(_server_database)
    with engine.begin() as connection:
        names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


class ServerPool:
    """The module's server: started on first use, restarted after it died."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.process = ServerProcess(data_dir=data_dir, database_url=database_url)
        self.credential: Credential | None = None
        self.db = Database(database_url)

    def acquire(self) -> LiveServer:
        if self.credential is None:
            self.credential = self.process.init()
        if self.process.exit_code() is not None or self.process.proc is None:
            self.process.start()
        return LiveServer(self.process, self.credential, SignedClient(self.process, self.credential), self.db)

    def close(self) -> None:
        self.process.stop()
        self.db.close()


@pytest.fixture(scope="module")
def server_pool(server_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    if server_database_url.startswith("sqlite:///"):
        data_dir = Path(server_database_url.removeprefix("sqlite:///")).parent
    else:
        data_dir = tmp_path_factory.mktemp("server") / "data"
    pool = ServerPool(server_database_url, data_dir)
    yield pool
    pool.close()


@pytest.fixture
def live_server(server_pool: ServerPool) -> Iterator[LiveServer]:
    """The started server; fails the test if the server process died during it."""
    live = server_pool.acquire()
    try:
        yield live
    finally:
        live.client.close()
    died, reported = live.process.died(), live.process.death_reported
    if died is not None:
        live.process.stop()  # the next test starts a new one
        if not reported:  # a request of the test already failed with ServerDied otherwise
            pytest.fail(died, pytrace=False)
