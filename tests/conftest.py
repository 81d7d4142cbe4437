"""Shared pytest fixtures: where the real test data lives, and how a missing folder is handled."""

from __future__ import annotations

import base64
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dbhelpers import copy_sqlite_template, truncate_all

DEFAULT_SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shared-data",
        default=os.environ.get("OPENKYC_TEST_SHARED_DATA", str(DEFAULT_SHARED_DATA)),
        help="folder with the real photos, videos and documents (default: ../shared/data)",
    )


@pytest.fixture(scope="session")
def shared_data(request: pytest.FixtureRequest) -> Path:
    """The real data folder. Skips when absent, but fails under CI=true so CI never skips it."""
    path = Path(str(request.config.getoption("--shared-data")))
    if not (path / "README.md").is_file():
        message = f"real test data not found at {path} (set --shared-data)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


# --- database, settings, runtime and signed clients -------------------------------------------

DB_FIXTURES = {"database_url", "settings", "runtime", "client", "make_tenant", "tenant", "live_server"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that touch the database are marked ``db``; the PostgreSQL pass runs ``-m db``."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: uses the database (runs on SQLite and on PostgreSQL)")


@pytest.fixture(scope="session")
def _server_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for the session when OPENKYC_TEST_DATABASE_URL is set."""
    url = os.environ.get("OPENKYC_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    from openkyc.store import db

    name = f"openkyc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(db.make_engine(url).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    test_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(test_url)
    db.upgrade(engine)
    engine.dispose()
    yield test_url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps tests fast)."""
    from openkyc.store import db

    path = tmp_path_factory.mktemp("template") / "openkyc.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def database_url(_server_database: str | None, _sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    if _server_database is None:
        yield copy_sqlite_template(_sqlite_template, tmp_path)
        return
    yield _server_database
    truncate_all(_server_database)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Any:
    from openkyc.settings import Settings

    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        environment="test",
        log_format="json",
        preload_models=False,
    )


@pytest.fixture
def runtime(settings: Any) -> Iterator[Any]:
    from openkyc.runtime import Runtime

    opened = Runtime.open(settings, migrate=False)
    yield opened
    opened.close()


@dataclass
class Tenant:
    """An account with one app and one credential, and a client that signs as it."""

    account_id: int
    app_id: int
    secret_id: str
    secret_key: str
    client: Any

    def sign(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        timestamp: int | None = None,
        query: str = "",
        content_type: str = "application/json",
        nonce: bool = False,
    ) -> dict[str, str]:
        """Signed headers; ``nonce`` adds a signed X-TC-Nonce so identical requests stay distinct."""
        from openkyc.accounts.signing import sign_request

        return sign_request(
            self.secret_id,
            self.secret_key,
            method=method,
            path=path,
            query=query,
            host="testserver",
            content_type=content_type,
            body=body,
            timestamp=timestamp or int(time.time()),
            extra_signed_headers={"X-TC-Nonce": uuid.uuid4().hex} if nonce else None,
        )

    def request(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> Any:
        import json as _json

        body = b"" if payload is None else _json.dumps(payload).encode()
        query = path.split("?", 1)[1] if "?" in path else ""
        headers = self.sign(method, path.split("?", 1)[0], body, query=query, nonce=True)
        return self.client.request(method, path, content=body, headers=headers, **kwargs)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, payload: Any = None) -> Any:
        return self.request("POST", path, payload if payload is not None else {})

    def put(self, path: str, payload: Any) -> Any:
        return self.request("PUT", path, payload)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


@pytest.fixture
def client(runtime: Any, settings: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from openapi_contract import ContractCheck
    from openkyc.api.app import create_app

    app = create_app(settings, runtime)
    check = ContractCheck(app.openapi())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.event_hooks["response"].append(check)
        test_client.contract = check
        yield test_client
    if check.problems and not os.environ.get("OPENKYC_CONTRACT_LOG"):
        pytest.fail(check.report(), pytrace=False)


@pytest.fixture
def make_tenant(runtime: Any, client: Any) -> Any:
    """Factory: a new account + app + credential per call."""
    from openkyc.accounts import service as accounts

    def make(name: str = "app") -> Tenant:
        with runtime.transaction() as session:
            account = accounts.create_account(session, f"{name}-account")
            app = accounts.create_app(session, account.id, name)
            issued = accounts.create_credential(session, runtime.keyring, app.id)
        return Tenant(account.id, app.id, issued.secret_id, issued.secret_key, client)

    return make


@pytest.fixture
def tenant(make_tenant: Any) -> Tenant:
    return make_tenant("tenant")


@pytest.fixture
def server(runtime: Any, settings: Any) -> Iterator[str]:
    """The app served by uvicorn in a thread of the test process (browser tests); its base URL."""
    import socket
    import threading

    import uvicorn

    from openkyc.api.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    instance = uvicorn.Server(
        uvicorn.Config(create_app(settings, runtime), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(200):
        if instance.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)
