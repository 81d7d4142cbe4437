"""The hosted page end to end in a real browser: Debian's Chromium plays a real talking-face clip as
its camera, the page records and submits it, and the customer reads the result."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import pytest
import uvicorn

from openkyc.accounts.signing import sign_request

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Debian's chromium is missing (scripts/system-deps.sh installs it)")
        pytest.skip("Debian's chromium is not installed")


def write_y4m(video: Path, target: Path) -> None:
    """A clip as raw YUV4MPEG2 (what Chromium's fake camera reads), upscaled to 640x480."""
    with av.open(str(video)) as container, target.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F25:1 Ip A1:1 C420jpeg\n")
        for frame in container.decode(video=0):
            image = cv2.resize(frame.to_ndarray(format="bgr24"), (640, 480))
            out.write(b"FRAME\n" + cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())


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


def test_end_user_completes_a_hosted_verification(server: str, tenant: Any, shared_data: Path, tmp_path: Path) -> None:
    _need_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    camera = tmp_path / "camera.y4m"
    write_y4m(shared_data / "grid-talking-face-videos" / "swiz3n.mpg", camera)

    host = server.removeprefix("http://")

    def signed(method: str, path: str, payload: Any = None) -> Any:
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

    done_url = f"{server}/v1/health?came=back"
    session = signed("POST", "/v1/sessions", {"redirect_url": done_url, "extra": "e2e"})
    token = session["biz_token"]

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={camera}",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(session["verification_url"])
            assert page.title() == "Identity check"
            page.click("#start")
            page.wait_for_url(f"{done_url}&biz_token={token}", timeout=90_000)
        finally:
            browser.close()

    result = signed("GET", f"/v1/sessions/{token}/result")
    assert result["state"] == "completed"
    assert result["extra"] == "e2e"
    assert result["result"]["Result"] == "Success", result["result"]
