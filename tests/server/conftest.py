"""A real ``openkyc serve`` for the tests of this folder, a signed client, and a check that it survived.

One server per test module (starting one costs seconds of model loading), on its own database: a
fresh SQLite file, or the test PostgreSQL database when OPENKYC_TEST_DATABASE_URL is set (tests using
``live_server`` are marked ``db`` and run again on PostgreSQL). A test during which the server died
fails with the exit code or signal and the tail of the server's log; the next test gets a server
restarted on the same database. The server is stopped at the end of the module.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_harness import Credential, Database, LiveServer, ServerProcess, SignedClient

from dbhelpers import copy_sqlite_template, truncate_all


@pytest.fixture(scope="module")
def server_database_url(
    _server_database: str | None, _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database for one module's server (SQLite file, or the PostgreSQL test database)."""
    if _server_database is None:
        yield copy_sqlite_template(_sqlite_template, tmp_path_factory.mktemp("server"))
        return
    yield _server_database
    truncate_all(_server_database)


class ServerPool:
    """The module's server: started on first use, restarted after it died."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.process = ServerProcess(data_dir=data_dir, database_url=database_url)
        self.credential: Credential | None = None
        self.db = Database(database_url, data_dir, self.process.master_key)

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
