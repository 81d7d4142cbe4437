"""Screenshots of the hosted flow for docs/hosted-flow.md, made only from drawn silhouettes.

Starts a real ``openkyc serve`` on a temporary SQLite database, plays a drawn silhouette (and a
rendered passport whose portrait is that silhouette, with a random made-up identity) as Chromium's
fake camera, and saves one JPEG per step at 390x844 and 1366x800. No photo or video of a real
person is used. The silhouette has no face, so the recorded attempt fails ("Try again"); the
"done" screenshot answers the page's submit with a stored success reply (marked in the docs).

    PYTHONPATH=src python scripts/hosted_screenshots.py --out docs/images/hosted
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))
sys.path.insert(0, str(ROOT / "tests"))

from server_harness import ServerProcess, SignedClient  # noqa: E402

from documents.render import render_document, render_two_sided_td1  # noqa: E402

W, H = 800, 600
SIZES = {"phone": (390, 844), "desktop": (1366, 800)}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def silhouette(width: int = W, height: int = H) -> np.ndarray:
    """A grey head-and-shoulders shape on a soft background: no face, no person."""
    y = np.linspace(0, 1, height)[:, None, None]
    image = (np.array([205, 200, 190]) * (1 - 0.25 * y)).astype(np.uint8).repeat(width, 1)
    cx = width // 2
    cv2.ellipse(image, (cx, int(height * 1.02)), (int(width * 0.32), int(height * 0.3)), 0, 180, 360, (90, 88, 86), -1)
    cv2.ellipse(image, (cx, int(height * 0.42)), (int(width * 0.13), int(height * 0.22)), 0, 0, 360, (105, 100, 98), -1)
    return image


def held_up(document: np.ndarray) -> np.ndarray:
    frame = np.full((H, W, 3), 90, np.uint8)
    scale = min(W * 0.84 / document.shape[1], H * 0.76 / document.shape[0])
    doc = cv2.resize(document, (int(document.shape[1] * scale), int(document.shape[0] * scale)))
    top, left = (H - doc.shape[0]) // 2, (W - doc.shape[1]) // 2
    frame[top : top + doc.shape[0], left : left + doc.shape[1]] = doc
    return frame


def write_y4m(frames: list[np.ndarray], target: Path) -> None:
    with target.open("wb") as out:
        out.write(f"YUV4MPEG2 W{W} H{H} F25:1 Ip A1:1 C420jpeg\n".encode())
        for image in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())


SUCCESS = {"Result": "Success", "Description": "", "finished": True, "attempts_left": 0, "redirect_url": None}


def launch(playwright: Any, camera: Path) -> Any:
    """Debian's Chromium with ``camera`` (a YUV4MPEG2 file) as its camera."""
    fake = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    args = [*ARGS, *fake, f"--use-file-for-fake-video-capture={camera}"]
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)


def cut_off(route: Any) -> None:
    """The page's submit cut off (a lost connection), for the retry screenshot."""
    route.abort("connectionreset")


def answer_success(route: Any) -> None:
    """The page's submit answered with a success reply (for the "done" screenshot only)."""
    route.fulfill(status=200, content_type="application/json", body=json.dumps(SUCCESS))


def save(out: Path, page: Any, name: str, size: str) -> None:
    page.screenshot(path=str(out / f"{name}-{size}.jpg"), type="jpeg", quality=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "hosted")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        portrait = cv2.resize(silhouette(300, 380), (300, 380))
        passport = render_document(np.random.default_rng(5), today=date(2026, 11, 30), kind="TD3", face=portrait)
        card = render_two_sided_td1(np.random.default_rng(6), today=date(2026, 11, 30), face=portrait)
        (folder / "front.jpg").write_bytes(card.front.jpeg)
        camera = folder / "camera.y4m"
        write_y4m([held_up(passport.image)] * 75 + [silhouette()] * 150, camera)
        desk = folder / "desk.y4m"  # an empty desk: nothing is captured by itself
        write_y4m([np.full((H, W, 3), 120, np.uint8)] * 50, desk)
        server = ServerProcess(data_dir=folder / "data", database_url=f"sqlite:///{folder / 'openkyc.db'}")
        credential = server.init()
        server.start()
        client = SignedClient(server, credential)
        try:
            brand = {
                "operator_name": "Example Shop",
                "theme_color": "#0b5cad",
                "privacy_notice_url": "https://shop.example/privacy",
            }
            rule = client.post("/v1/rules", {"name": "shop", "config": {"hosted": brand}}).body["rule_id"]
            flash = client.post(
                "/v1/rules",
                {
                    "name": "flash",
                    "config": {
                        "liveness": {"mode": "reflection"},
                        "hosted": {**brand, "silent_instead_of_reflection": True},
                    },
                },
            ).body["rule_id"]

            def new(**fields: object) -> str:
                body = {"redirect_url": f"{server.url}/v1/health", "rule_id": rule, **fields}
                return str(client.post("/v1/sessions", body).body["verification_url"])

            with sync_playwright() as playwright:
                browser = launch(playwright, camera)
                for size, (width, height) in SIZES.items():

                    def shot(page: object, name: str, size: str = size) -> None:
                        page.screenshot(path=str(args.out / f"{name}-{size}.jpg"), type="jpeg", quality=80)  # type: ignore[attr-defined]

                    page = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True).new_page()
                    page.goto(new(check_mode="document+liveness+compare"))
                    page.wait_for_selector("#notice:not([hidden])")
                    shot(page, "1-notice")
                    page.click("#agree")
                    page.wait_for_selector("#document:not([hidden])")
                    page.wait_for_timeout(400)
                    shot(page, "2-document")
                    page.wait_for_selector("#doc-use:not([hidden])", timeout=30_000)
                    shot(page, "3-document-captured")
                    page.click("#doc-use")
                    page.wait_for_selector("#selfie:not([hidden])")
                    page.wait_for_timeout(3500)  # past the document frames of the fake camera
                    shot(page, "4-selfie")
                    page.click("#start")
                    page.wait_for_timeout(1200)
                    shot(page, "5-countdown")
                    page.wait_for_selector("#rec:not([hidden])", timeout=10_000)
                    page.wait_for_timeout(800)
                    shot(page, "6-recording")
                    page.wait_for_function(
                        "document.querySelector('#start').textContent !== '' && !document.querySelector('#start').disabled",
                        timeout=120_000,
                    )
                    shot(page, "7-try-again")
                    page.context.close()

                    page = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True).new_page()
                    page.route("**/submit", answer_success)
                    page.goto(new())
                    page.click("#agree")
                    page.wait_for_selector("#selfie:not([hidden])")
                    page.click("#start")
                    page.wait_for_selector("#done:not([hidden])", timeout=60_000)
                    shot(page, "8-done")
                    page.context.close()

                    page = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True).new_page()
                    page.goto(new(rule_id=flash))
                    page.wait_for_selector("#notice:not([hidden])")
                    page.locator("#flash-warning").scroll_into_view_if_needed()
                    shot(page, "9-flash-warning")
                    page.context.close()

                    page = browser.new_context(
                        viewport={"width": width, "height": height}, locale="zh-TW", bypass_csp=True
                    ).new_page()
                    page.goto(new(check_mode="document+liveness+compare"))
                    page.wait_for_selector("#notice:not([hidden])")
                    shot(page, "10-notice-zh-Hant")
                    page.goto(f"{server.url}/verify/not-a-token")
                    shot(page, "11-bad-link-zh-Hant")
                    page.context.close()
                browser.close()

                empty = launch(playwright, desk)
                for size, (width, height) in SIZES.items():
                    shot2 = functools.partial(save, args.out, size=size)
                    page = empty.new_context(viewport={"width": width, "height": height}, bypass_csp=True).new_page()
                    page.goto(new(check_mode="document+liveness+compare"))
                    page.click("#agree")
                    page.wait_for_selector("#document:not([hidden])")
                    page.set_input_files("#doc-file", str(folder / "front.jpg"))
                    page.click("#doc-use")
                    page.wait_for_selector("#no-back:not([hidden])", timeout=120_000)
                    page.wait_for_timeout(1500)
                    shot2(page, "13-document-back")
                    page.context.close()

                    page = empty.new_context(viewport={"width": width, "height": height}, bypass_csp=True).new_page()
                    page.route("**/submit", cut_off)
                    page.goto(new())
                    page.click("#agree")
                    page.wait_for_selector("#selfie:not([hidden])")
                    page.click("#start")
                    page.wait_for_function("(window.hostedRetries || 0) >= 1", timeout=60_000)
                    page.locator("#status").scroll_into_view_if_needed()
                    shot2(page, "14-upload-retrying")
                    page.context.close()

                    page = empty.new_context(
                        viewport={"width": width, "height": height}, locale="ar", bypass_csp=True
                    ).new_page()
                    page.goto(new(check_mode="document+liveness+compare"))
                    page.wait_for_selector("#notice:not([hidden])")
                    shot2(page, "15-notice-ar-rtl")
                    page.context.close()
                empty.close()

                denied = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=[*ARGS, "--use-fake-device-for-media-stream", "--deny-permission-prompts"],
                )
                for size, (width, height) in SIZES.items():
                    page = denied.new_context(viewport={"width": width, "height": height}, bypass_csp=True).new_page()
                    page.goto(new())
                    page.click("#agree")
                    page.wait_for_selector("#camera-error:not([hidden])")
                    page.screenshot(path=str(args.out / f"12-camera-denied-{size}.jpg"), type="jpeg", quality=80)
                    page.context.close()
                denied.close()
        finally:
            client.close()
            server.stop()


if __name__ == "__main__":
    main()
