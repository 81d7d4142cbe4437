"""The console in Debian's Chromium (Playwright): sign in, create an app, rotate a key, edit a rule
(new version and diff), find a request by its RequestId, export and erase a subject enrolled from
a real photo, and lock a user out with wrong passwords. Every page visited is also checked at
desktop (1366x800) and phone (390x844) widths: no horizontal overflow, the heading and the
navigation visible; screenshots are written to the test's temporary folder."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_helpers import PASSWORD, make_user

from openkyc.accounts.signing import sign_request

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SIZES = {"desktop": (1366, 800), "phone": (390, 844)}


@pytest.fixture
def playwright_browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Debian's chromium is missing (scripts/system-deps.sh installs it)")
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            yield browser
        finally:
            browser.close()


def signed_call(server: str, tenant: Any, method: str, path: str, payload: Any = None) -> httpx.Response:
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = sign_request(
        tenant.secret_id, tenant.secret_key, method=method, path=path, host=server.removeprefix("http://"),
        body=body, timestamp=int(time.time()), extra_signed_headers={"X-TC-Nonce": os.urandom(6).hex()},
    )  # fmt: skip
    return httpx.request(method, server + path, content=body, headers=headers, timeout=120)


class Layout:
    """Checks a page at both widths and keeps a screenshot of each."""

    def __init__(self, browser: Any, folder: Path) -> None:
        self.pages = {}
        self.folder = folder
        for name, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
            self.pages[name] = context.new_page()
        self.checked: list[str] = []

    def sign_in(self, server: str, user: str) -> None:
        for page in self.pages.values():
            page.goto(server + "/console/login")
            page.fill("#user_name", user)
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_url(re.compile(r".*/console/$"))

    def check(self, url: str, label: str) -> None:
        for name, page in self.pages.items():
            page.goto(url)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{label} at {name} width overflows by {overflow}px"
            assert page.locator("h1").is_visible(), f"{label} at {name}: no visible heading"
            assert page.locator("nav.side a").first.is_visible(), f"{label} at {name}: no visible navigation"
            box = page.locator("h1").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= SIZES[name][0] + 1
            page.screenshot(path=str(self.folder / f"{label}-{name}.png"), full_page=True)
        self.checked.append(label)


def test_operator_flows_in_chromium(
    server: str, runtime: Any, tenant: Any, shared_data: Path, playwright_browser: Any, tmp_path: Path
) -> None:
    make_user(runtime, tenant.account_id, "olivia", "owner")
    make_user(runtime, tenant.account_id, "victim", "developer")
    photo = (shared_data / "facerec-examples" / "identities" / "obama" / "obama.jpg").read_bytes()
    collection = signed_call(server, tenant, "POST", "/v1/collections", {"name": "members"}).json()["collection_id"]
    enrolled = signed_call(
        server, tenant, "POST", f"/v1/collections/{collection}/subjects",
        {"subject_id": "member-77", "image": base64.b64encode(photo).decode(), "retain_image": True},
    )  # fmt: skip
    assert enrolled.status_code == 200, enrolled.text
    looked_up = signed_call(server, tenant, "GET", "/v1/account")
    request_id = looked_up.headers["x-request-id"]

    context = playwright_browser.new_context(viewport={"width": 1366, "height": 800}, bypass_csp=True)
    page = context.new_page()
    app_q = f"?app={tenant.app_id}"

    # sign in
    page.goto(server + "/console/login")
    page.fill("#user_name", "olivia")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r".*/console/$"))
    assert page.locator("#role").inner_text() == "owner"

    # create an app: its SecretKey is shown once
    page.goto(server + "/console/apps" + app_q)
    page.fill("#f-name", "web-shop")
    page.click("#create")
    key = page.locator("#secret-key").inner_text()
    new_app = page.locator("#secret-app").inner_text()
    assert len(key) >= 32
    page.goto(server + "/console/apps" + app_q)
    assert "web-shop" in page.content() and key not in page.content()

    # rotate a key of the tenant's app: a new pair, the old one disabled
    page.goto(server + "/console/credentials" + app_q)
    page.click(f'button[data-row="{tenant.secret_id}"]:text("Rotate")')
    rotated_id = page.locator("#secret-id").inner_text()
    assert rotated_id != tenant.secret_id and len(page.locator("#secret-key").inner_text()) >= 32
    assert signed_call(server, tenant, "GET", "/v1/account").json()["Error"]["Code"] == "AuthFailure.SecretIdDisabled"
    page.goto(server + "/console/credentials" + app_q)
    assert rotated_id in page.content()

    # edit a rule: a new version with a diff in the history
    page.goto(server + "/console/rules" + app_q)
    page.fill("#f-name", "kyc-default")
    page.click("#create")
    assert page.locator("#rule-version").inner_text() == "1"
    config = json.loads(page.locator("#rule-config").input_value())
    config["compare_threshold"] = 80
    page.fill("#rule-config", json.dumps(config, indent=2))
    page.click("#save-rule")
    assert page.locator("#rule-version").inner_text() == "2"
    assert page.locator("pre.diff span.add", has_text='"compare_threshold": 80').count() == 1
    assert page.locator("pre.diff span.del", has_text='"compare_threshold": 70').count() == 1
    rule_url = page.url

    # find a request by its RequestId
    page.goto(server + "/console/requests" + app_q)
    page.fill("#q-request_id", request_id)
    page.click("#search-form button")
    assert request_id in page.content() and "DescribeAccount" in page.content()

    # export, then erase, a subject
    page.goto(server + "/console/subjects" + app_q)
    page.fill("#export-subject", "member-77")
    page.click("#export")
    summary = page.locator("#export-summary").inner_text()
    assert not summary.startswith("0 "), summary
    assert "member-77" in page.locator("#export-json").inner_text()
    with page.expect_download() as download:
        page.click("#download-zip")
    assert download.value.suggested_filename == "openkyc-export.zip"
    page.goto(server + "/console/subjects" + app_q)
    page.fill("#erase-subject", "member-77")
    page.check("#erase-confirm")
    page.click("#erase")
    assert page.locator("h1").inner_text() == "Erasure receipt"
    receipt = page.locator("td", has_text=re.compile(r"^[0-9a-f-]{36}$")).first.inner_text()
    page.goto(server + "/console/subjects" + app_q)
    assert receipt in page.content()
    page.fill("#export-subject", "member-77")
    page.click("#export")
    assert page.locator("#export-summary").inner_text().startswith("0 ")
    page.goto(server + f"/console/collections/{collection}" + app_q)
    assert "member-77" not in page.content()

    # every page at desktop and phone widths
    layout = Layout(playwright_browser, tmp_path)
    layout.sign_in(server, "olivia")
    for path in ("", "apps", "credentials", "rules", "collections", "verifications", "sessions", "usage",
                 "bills", "requests", "audit", "consents", "subjects", "models", "webhooks", "users"):  # fmt: skip
        layout.check(f"{server}/console/{path}{app_q}", path or "overview")
    layout.check(rule_url, "rule")
    layout.check(f"{server}/console/apps?app={new_app}", "apps-new")
    assert all((tmp_path / f"{label}-{size}.png").stat().st_size > 1000 for label in layout.checked for size in SIZES)

    # wrong passwords lock the user out, and then even the right one is refused
    other = playwright_browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True).new_page()
    for attempt in range(runtime.settings.console_max_failed_logins):
        other.goto(server + "/console/login")
        other.fill("#user_name", "victim")
        other.fill("#password", f"wrong-{attempt}")
        other.click("#sign-in")
    assert "locked" in other.locator("#login-error").inner_text()
    other.goto(server + "/console/login")
    other.fill("#user_name", "victim")
    other.fill("#password", PASSWORD)
    other.click("#sign-in")
    assert "locked" in other.locator("#login-error").inner_text() and "/console/login" in other.url
    overflow = other.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
