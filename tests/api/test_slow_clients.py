"""Against a real server: a stalled body is cut off with 408; too many uploads at once get 503."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from openkyc.api.app import create_app

TIMEOUT = 1.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(runtime: Any, settings: Any) -> Iterator[int]:
    """uvicorn on 127.0.0.1 in a thread, with a 1 s body timeout and one upload at a time."""
    runtime.settings = type(settings)(
        **{**settings.model_dump(), "body_read_timeout_seconds": TIMEOUT, "max_concurrent_uploads": 1}
    )
    port = _free_port()
    config = uvicorn.Config(
        create_app(runtime.settings, runtime), host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield port
    instance.should_exit = True
    thread.join(10)


def _partial_upload(port: int, declared: int = 1_000_000, sent: int = 64_000) -> socket.socket:
    """Headers and part of a body, then nothing more (the client stalls)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST /v1/rules HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    sock.sendall(head.encode() + b" " * sent)
    return sock


def _read_answer(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (or 5 s pass)."""
    sock.settimeout(5)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data


def test_a_stalled_body_gets_408_within_the_timeout(server: int) -> None:
    started = time.monotonic()
    sock = _partial_upload(server)
    answer = _read_answer(sock)
    elapsed = time.monotonic() - started
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"RequestTimeout.BodyRead" in answer
    assert b"connection: close" in answer.lower()
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 2.5  # cut off, and the connection closed (recv saw EOF)


def test_uploads_beyond_the_cap_get_503_at_once(server: int) -> None:
    stalled = _partial_upload(server)
    time.sleep(0.2)  # the first upload holds the only slot
    started = time.monotonic()
    second = _partial_upload(server, declared=100, sent=10)
    answer = _read_answer_head(second)
    elapsed = time.monotonic() - started
    second.close()
    assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
    assert b"ResourceUnavailable.ServerBusy" in answer
    assert b"retry-after: 1" in answer.lower()
    assert elapsed < TIMEOUT / 2  # at once, not after waiting for a slot
    assert _read_answer(stalled).startswith(b"HTTP/1.1 408 ")
    stalled.close()
    # the slot is free again: a complete body is read and reaches the signature check
    body = b'{"name": "x"}'
    sock = socket.create_connection(("127.0.0.1", server), timeout=5)
    sock.sendall(
        b"POST /v1/rules HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    assert _read_answer(sock).startswith(b"HTTP/1.1 401 ")
    sock.close()


def _read_answer_head(sock: socket.socket) -> bytes:
    """The answer's status line, headers and (small) body, without waiting for the close."""
    sock.settimeout(2)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    time.sleep(0.05)
    sock.setblocking(False)
    try:
        data += sock.recv(65536)
    except BlockingIOError:
        pass
    return data
