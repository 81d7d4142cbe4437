"""Fixtures of the hosted-flow tests: real clips and rendered documents (shared with tests/liveness
and tests/documents)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from openkyc.accounts.signing import sign_request

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "liveness"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for documents.render


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
