"""Fixtures of the hosted-flow tests: real clips and rendered documents (shared with tests/liveness
and tests/documents)."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from openkyc.accounts.signing import sign_request

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "liveness"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for documents.render


@pytest.fixture
def server(runtime: Any, settings: Any) -> Iterator[str]:
    from openkyc.api.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, runtime), host="127.0.0.1", port=port, log_config=None)
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(100):
        if instance.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def signed(server: str, tenant: Any) -> Any:
    host = server.removeprefix("http://")

    def call(method: str, path: str, payload: Any = None) -> Any:
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = sign_request(
            tenant.secret_id,
            tenant.secret_key,
            method=method,
            path=path,
            host=host,
            body=body,
            timestamp=int(time.time()),
            extra_signed_headers={"X-TC-Nonce": os.urandom(6).hex()},
        )
        return httpx.request(method, server + path, content=body, headers=headers, timeout=60).json()

    return call
