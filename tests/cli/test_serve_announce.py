"""``openkyc serve`` says ``listening on`` only once its socket accepts connections: uvicorn runs
the app's start-up (migrations, models, warm-up) before it binds, so an earlier line would send the
first ``curl`` to a closed port."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
import uvicorn

from openkyc.cli.serving import AnnouncingServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _app(release: threading.Event, *, fail: bool = False) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # lifespan.startup
            while not release.is_set():  # a slow start-up (models loading)
                import asyncio

                await asyncio.sleep(0.05)
            await send({"type": "lifespan.startup.failed" if fail else "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})

    return app


def _wait_for(condition: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_lines_come_once_the_port_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    port, release = _free_port(), threading.Event()
    config = uvicorn.Config(_app(release), host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = AnnouncingServer(config, ["listening on here", "  check it: curl"])
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        assert not _accepts(port)  # still starting: nothing listens ...
        assert "listening on" not in capsys.readouterr().out  # ... and nothing says so
        release.set()
        assert _wait_for(lambda: server.started)
        assert _accepts(port)
        out = capsys.readouterr().out
        assert out.splitlines() == ["listening on here", "  check it: curl"]
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_failed_start_says_nothing_of_listening(capsys: pytest.CaptureFixture[str]) -> None:
    port, release = _free_port(), threading.Event()
    release.set()
    config = uvicorn.Config(_app(release, fail=True), host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = AnnouncingServer(config, ["listening on here"])
    exits: list[object] = []

    def run() -> None:
        try:
            server.run()
        except SystemExit as exc:  # uvicorn exits with 3 when the app's start-up fails
            exits.append(exc.code)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive() and not server.started and exits == [3]
    assert "listening on" not in capsys.readouterr().out
