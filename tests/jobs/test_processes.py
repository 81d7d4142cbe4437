"""Several API processes on one PostgreSQL database: each 1:N index follows the others' writes.

Two ``openkyc serve`` processes on two ports (the same property as ``--workers 2``, but every
request's process is known), with real models on real photos; and a ``--workers 2`` start-up.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import openkyc
from openkyc.accounts import service as accounts
from openkyc.accounts.signing import sign_request

pytestmark = pytest.mark.skipif(
    not os.environ.get("OPENKYC_TEST_DATABASE_URL"), reason="needs PostgreSQL (OPENKYC_TEST_DATABASE_URL)"
)

SRC = Path(openkyc.__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(settings: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENKYC_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]),
        OPENKYC_DATABASE_URL=settings.database_url,
        OPENKYC_MASTER_KEY=settings.master_key.get_secret_value(),
        OPENKYC_ENVIRONMENT="test",
        OPENKYC_PRELOAD_MODELS="false",
        OPENKYC_LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def start_serve(settings: Any) -> Iterator[Callable[..., tuple[int, subprocess.Popen[str]]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*extra: str) -> tuple[int, subprocess.Popen[str]]:
        port = _free_port()
        command = [sys.executable, "-c", "from openkyc.cli.main import main; main()", "serve"]
        command += ["--data-dir", str(settings.data_dir), "--port", str(port), *extra]
        process = subprocess.Popen(
            command, env=_env(settings), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        started.append(process)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, "openkyc serve exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                    return port, process
            except httpx.HTTPError:
                time.sleep(0.3)
        raise AssertionError("openkyc serve did not answer in time")

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Client:
    def __init__(self, port: int, secret_id: str, secret_key: str) -> None:
        self.host = f"127.0.0.1:{port}"
        self.secret = (secret_id, secret_key)

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> httpx.Response:
        import json

        body = b"" if payload is None else json.dumps(payload).encode()
        headers = sign_request(
            *self.secret,
            method=method,
            path=path,
            host=self.host,
            body=body,
            timestamp=int(time.time()),
            extra_signed_headers={"X-TC-Nonce": uuid.uuid4().hex},
        )
        return httpx.request(method, f"http://{self.host}{path}", content=body, headers=headers, timeout=60)


def _photo(shared_data: Path, person: str, name: str) -> str:
    return base64.b64encode((shared_data / "facerec-examples" / "identities" / person / name).read_bytes()).decode()


def _found(client: Client, collection: str, image: str) -> list[str]:
    response = client.call("POST", f"/v1/collections/{collection}/search", {"image": image, "top_k": 5})
    assert response.status_code == 200, response.text
    return [m["subject_id"] for m in response.json()["matches"] if m["sim"] >= 70]


@pytest.mark.slow
def test_enrol_and_delete_in_one_process_seen_by_the_other(runtime: Any, start_serve: Any, shared_data: Path) -> None:
    with runtime.transaction() as session:
        account = accounts.create_account(session, "procs-account")
        app = accounts.create_app(session, account.id, "procs")
        issued = accounts.create_credential(session, runtime.keyring, app.id)
    port_a, _ = start_serve()
    port_b, _ = start_serve()
    a = Client(port_a, issued.secret_id, issued.secret_key)
    b = Client(port_b, issued.secret_id, issued.secret_key)

    created = a.call("POST", "/v1/collections", {"name": "staff"})
    assert created.status_code == 200, created.text
    collection = created.json()["collection_id"]
    obama, obama_probe = _photo(shared_data, "obama", "obama.jpg"), _photo(shared_data, "obama", "obama1.jpg")
    biden, biden_probe = _photo(shared_data, "biden", "biden.jpg"), _photo(shared_data, "biden", "biden2.jpg")
    assert _found(b, collection, obama_probe) == []  # B has built its (empty) index before A writes

    enrolled = a.call("POST", f"/v1/collections/{collection}/subjects", {"subject_id": "s-obama", "image": obama})
    assert enrolled.status_code == 200, enrolled.text
    assert _found(b, collection, obama_probe) == ["s-obama"]

    enrolled = b.call("POST", f"/v1/collections/{collection}/subjects", {"subject_id": "s-biden", "image": biden})
    assert enrolled.status_code == 200, enrolled.text
    assert _found(a, collection, biden_probe) == ["s-biden"]

    deleted = a.call("DELETE", f"/v1/collections/{collection}/subjects/s-obama")
    assert deleted.status_code == 200, deleted.text
    assert _found(b, collection, obama_probe) == []
    assert _found(b, collection, biden_probe) == ["s-biden"]


def test_serve_with_two_workers_on_postgresql(start_serve: Any) -> None:
    port, process = start_serve("--workers", "2")
    assert httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5).json()["status"] == "ok"
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    assert f"listening on http://127.0.0.1:{port} (2 processes, postgresql)" in out
