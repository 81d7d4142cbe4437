"""``/docs`` and ``/redoc`` render in Debian's Chromium with the network cut off: Swagger UI and
ReDoc come from the installed ``fastapi-offline`` package's files, nothing from a CDN. Checked in
the DOM and on a screenshot."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_docs_render_offline(server: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Debian's chromium is missing")
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no name resolves
            ],
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", only_local)
            page = context.new_page()
            page.goto(f"{server}/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=60_000)
            page.wait_for_selector(".opblock", timeout=60_000)
            title = page.inner_text(".swagger-ui .info .title")
            operations = page.locator(".opblock").count()
            authorize = page.locator(".btn.authorize").count()
            shot = tmp_path / "docs.png"
            page.screenshot(path=str(shot), full_page=False)
            page.goto(f"{server}/redoc")
            page.wait_for_selector("h1", timeout=60_000)
            redoc_title = page.inner_text("h1")
            redoc_operations = page.locator("[data-section-id^='operation/']").count()
        finally:
            browser.close()

    assert outside == []  # nothing was asked of the network
    assert "OpenKYC" in title
    assert operations >= 30
    assert authorize == 1  # the TC3 security scheme is described
    assert "OpenKYC" in redoc_title and redoc_operations >= 30
    image = cv2.imread(str(shot), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[:2] == (900, 1280)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # a blank (CDN-less) page is one flat colour; Swagger UI draws text, coloured method badges
    assert float(grey.std()) > 20
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    assert float(np.mean(hsv[..., 1] > 80)) > 0.01  # the coloured GET/POST badges
