"""The hosted page end to end in a real browser: Debian's Chromium plays real clips (and a rendered
document held up to the camera) as its camera; the page shows the notice, captures the document,
records and submits the video, and the customer reads the result. Also: each camera failure,
every language rendered, and axe-core on every step (0 serious or critical violations)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from attacks import read_frames

from documents.render import render_document
from openkyc.web.i18n import LANGUAGES, catalog

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("OPENKYC_AXE_PATH", ROOT / "node_modules" / "axe-core" / "axe.min.js"))
W, H = 800, 600
BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def wait_for_redirect(page: Any, url: str, timeout: int) -> None:
    """``page.wait_for_url`` that, when it times out, says what the page showed and what it recorded
    (the answer the end user saw: a refusal with "Try again", a network error, a short recording)."""
    try:
        page.wait_for_url(url, timeout=timeout)
    except Exception as exc:
        try:
            shown = page.inner_text("body")[:600]
            recorded = page.evaluate("window.hostedRecordings || null")
        except Exception as inner:  # the page itself is gone
            shown, recorded = f"(page not readable: {type(inner).__name__})", None
        raise AssertionError(f"no redirect to {url}; the page showed: {shown!r}; recordings: {recorded}") from exc


def _need(path: Path, what: str, how: str) -> None:
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{what} is missing ({how})")
        pytest.skip(f"{what} is not installed ({how})")


def _need_chromium() -> None:
    _need(Path(CHROMIUM), "Debian's chromium", "scripts/system-deps.sh installs it")


def _frame(image: np.ndarray) -> bytes:
    return b"FRAME\n" + cv2.cvtColor(cv2.resize(image, (W, H)), cv2.COLOR_BGR2YUV_I420).tobytes()


def write_y4m(frames: list[np.ndarray], target: Path) -> None:
    """Frames as raw YUV4MPEG2 at 25 fps (what Chromium's fake camera reads)."""
    with target.open("wb") as out:
        out.write(f"YUV4MPEG2 W{W} H{H} F25:1 Ip A1:1 C420jpeg\n".encode())
        for image in frames:
            out.write(_frame(image))


def clip_frames(video: Path) -> list[np.ndarray]:
    with av.open(str(video)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def held_up(document: np.ndarray) -> np.ndarray:
    """The document photo filling the page's outline (84 % of the width), on a plain desk."""
    frame = np.full((H, W, 3), 90, np.uint8)
    scale = min(W * 0.84 / document.shape[1], H * 0.76 / document.shape[0])
    doc = cv2.resize(document, (int(document.shape[1] * scale), int(document.shape[0] * scale)))
    top, left = (H - doc.shape[0]) // 2, (W - doc.shape[1]) // 2
    frame[top : top + doc.shape[0], left : left + doc.shape[1]] = doc
    return frame


def _browser(playwright: Any, camera: Path | None, *extra: str) -> Any:
    args = [*BASE_ARGS, *extra]
    if camera is not None:
        args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
        args.append(f"--use-file-for-fake-video-capture={camera}")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA and best-practice results for the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] }))
            .violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }))"""
    )
    return found


def _plain_rule(signed: Any) -> str:
    """A rule without timed challenges: a recorded clip cannot follow a schedule drawn after it."""
    return str(signed("POST", "/v1/rules", {"name": "plain", "config": {"hosted": {"challenge": False}}})["rule_id"])


def _serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in {"serious", "critical"}]


def test_end_user_completes_a_hosted_verification(server: str, signed: Any, shared_data: Path, tmp_path: Path) -> None:
    _need_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    camera = tmp_path / "camera.y4m"
    write_y4m(clip_frames(shared_data / "grid-talking-face-videos" / "swiz3n.mpg"), camera)
    done_url = f"{server}/v1/health?came=back"
    plain = _plain_rule(signed)
    session = signed("POST", "/v1/sessions", {"redirect_url": done_url, "extra": "e2e", "rule_id": plain})
    token = session["biz_token"]

    with sync_api.sync_playwright() as playwright:
        browser = _browser(playwright, camera)
        try:
            page = browser.new_page()
            page.goto(session["verification_url"])
            assert page.title() == "Identity check"
            page.click("#agree")
            page.wait_for_selector("#selfie:not([hidden])")
            page.click("#start")
            wait_for_redirect(page, f"{done_url}&biz_token={token}", 90_000)
        finally:
            browser.close()

    result = signed("GET", f"/v1/sessions/{token}/result")
    assert result["state"] == "completed" and result["consented"] is True
    assert result["extra"] == "e2e"
    assert result["result"]["Result"] == "Success", result["result"]


def test_identity_flow_document_then_selfie_with_axe_on_every_step(
    server: str, signed: Any, shared_data: Path, tmp_path: Path
) -> None:
    """A passport rendered with the clip's person as portrait is held up to the (rear) camera and
    captured automatically once sharp; then the selfie steps; the result combines the three steps."""
    _need_chromium()
    _need(AXE, "axe-core", "npm install axe-core into node_modules/, or set OPENKYC_AXE_PATH")
    sync_api = pytest.importorskip("playwright.sync_api")
    clip = shared_data / "grid-talking-face-videos" / "lrwp9a.mpg"
    document = render_document(
        np.random.default_rng(11), today=date(2026, 11, 29), kind="TD3", face=read_frames(clip, limit=40)[35]
    )
    camera = tmp_path / "camera.y4m"
    write_y4m([held_up(document.image)] * 50 + clip_frames(clip) * 4, camera)  # 2 s of document, then the face
    done_url = f"{server}/v1/health?identity=done"
    session = signed(
        "POST",
        "/v1/sessions",
        {"redirect_url": done_url, "check_mode": "document+liveness+compare", "rule_id": _plain_rule(signed)},
    )
    token = session["biz_token"]
    violations: dict[str, list[dict[str, Any]]] = {}

    with sync_api.sync_playwright() as playwright:
        browser = _browser(playwright, camera)
        try:
            page = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True).new_page()
            page.goto(session["verification_url"])
            page.wait_for_selector("#notice:not([hidden])")
            assert page.get_attribute("#progress li[aria-current='step']", "data-step") == "notice"
            violations["notice"] = axe_violations(page)
            page.keyboard.press("Tab")  # keyboard operable: the first control is the agree button
            assert page.evaluate("document.activeElement.id") == "agree"
            page.keyboard.press("Enter")
            page.wait_for_selector("#document:not([hidden])")
            violations["document"] = axe_violations(page)
            page.wait_for_selector("#doc-use:not([hidden])", timeout=30_000)  # captured when sharp
            assert page.get_attribute("#progress li[aria-current='step']", "data-step") == "document"
            page.click("#doc-use")
            # the server reads the front first (OCR: over 30 s on a loaded machine), then the selfie step
            page.wait_for_selector("#selfie:not([hidden])", timeout=120_000)
            violations["selfie"] = axe_violations(page)
            page.wait_for_timeout(1000)  # the fake camera may restart its file: past the document frames
            page.click("#start")
            page.wait_for_selector("#rec:not([hidden])", timeout=10_000)  # the recording indicator
            wait_for_redirect(page, f"{done_url}&biz_token={token}", 120_000)
        finally:
            browser.close()

    result = signed("GET", f"/v1/sessions/{token}/result")
    assert result["state"] == "completed", result
    stored = result["result"]
    assert stored["kind"] == "identity", stored
    codes = {step: stored["details"][step]["code"] for step in ("document", "liveness", "compare")}
    assert codes == {"document": "Success", "liveness": "Success", "compare": "Success"}, codes
    assert stored["Result"] == "Success" and stored["sim"] >= 70
    serious = {step: _serious(found) for step, found in violations.items()}
    assert all(not found for found in serious.values()), serious


def test_challenge_prompts_are_shown_at_the_scheduled_times(
    server: str, signed: Any, runtime: Any, shared_data: Path, tmp_path: Path
) -> None:
    """The default hosted session: the page asks for a timed challenge, starts the recording
    itself, shows each prompt at its scheduled time from the recording's start, stops after
    ``record_ms`` and submits with the challenge; the server judges the video against that schedule
    (a recorded clip cannot follow it, so the check's verdict is whatever the clip did) and the
    challenge is used up. Try again draws a new challenge."""
    _need_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    from openkyc.store.models.liveness import LivenessChallengeRow

    camera = tmp_path / "camera.y4m"
    write_y4m(clip_frames(shared_data / "grid-talking-face-videos" / "swiz3n.mpg") * 4, camera)
    rule_id = signed("POST", "/v1/rules", {"name": "tries", "config": {"security": {"max_retries": 2}}})["rule_id"]
    session = signed("POST", "/v1/sessions", {"redirect_url": f"{server}/v1/health", "rule_id": rule_id})
    token = session["biz_token"]
    issued: list[dict[str, Any]] = []
    submitted: list[dict[str, Any]] = []

    with sync_api.sync_playwright() as playwright:
        browser = _browser(playwright, camera)
        try:
            page = browser.new_context(bypass_csp=True).new_page()  # the test's own polling scripts

            def on_response(response: Any) -> None:
                if response.url.endswith("/challenge"):
                    issued.append(response.json())

            page.on("response", on_response)
            page.on(
                "request", lambda r: submitted.append(json.loads(r.post_data)) if r.url.endswith("/submit") else None
            )
            page.goto(session["verification_url"])
            page.click("#agree")
            page.wait_for_selector("#selfie:not([hidden])")
            page.click("#start")
            page.wait_for_function("window.hostedTimeline.some((m) => m.what === 'stop')", timeout=60_000)
            timeline = page.evaluate("window.hostedTimeline")
            page.wait_for_function("!document.querySelector('#start').disabled", timeout=120_000)
            status = page.inner_text("#status")
            again_label = page.inner_text("#start")
            page.click("#start")  # try again: a new challenge
            page.wait_for_function(
                "window.hostedTimeline.filter((m) => m.what === 'start').length === 2", timeout=60_000
            )
        finally:
            browser.close()

    schedule = issued[0]["schedule"]
    shown = [mark for mark in timeline if mark["what"] in {"blink", "mouth", "nod", "shake"}]
    assert [m["what"] for m in shown] == [a["action"] for a in schedule["actions"]]
    for mark, action in zip(shown, schedule["actions"], strict=True):
        assert abs(mark["at"] - action["prompt_ms"]) <= 150, (mark, action)
    stop = next(m["at"] for m in timeline if m["what"] == "stop")
    assert schedule["record_ms"] <= stop <= schedule["record_ms"] + 600
    assert submitted[0]["challenge_id"] == issued[0]["challenge_id"]
    assert len(issued) == 2 and issued[1]["challenge_id"] != issued[0]["challenge_id"]
    with runtime.transaction() as db:
        used = db.get(LivenessChallengeRow, issued[0]["challenge_id"])
        assert used is not None and used.used_at is not None
        assert used.session_ref == runtime.subject_keys.token_ref(token)
    result = signed("GET", f"/v1/sessions/{token}/result")
    assert result["attempts"] == 1 and result["result"]["details"]["mode"] == "challenge", result
    code = result["result"]["Result"]
    expected = (
        catalog("en")["done"] if code == "Success" else catalog("en")["results"].get(code, catalog("en")["failed"])
    )
    assert status == expected and again_label == catalog("en")["try_again"]


CAMERA_FAILURES = {
    # how the browser is started, and a script run before the page's own (None: the real failure)
    "camera_denied": ([*BASE_ARGS, "--use-fake-device-for-media-stream", "--deny-permission-prompts"], None),
    "camera_none": (BASE_ARGS, None),
    "camera_busy": (
        [*BASE_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('in use', 'NotReadableError'));",
    ),
    "camera_insecure": (
        [
            *BASE_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--host-resolver-rules=MAP kyc.example.test 127.0.0.1",
        ],
        None,
    ),
}


@pytest.mark.parametrize("problem", sorted(CAMERA_FAILURES))
def test_each_camera_failure_says_what_to_do(server: str, signed: Any, problem: str) -> None:
    """Permission denied, no camera and an insecure (plain http, not local) page are the browser's
    own failures; a camera held by another app cannot be staged in headless Chromium, so that
    case rejects getUserMedia with the NotReadableError the browser would raise."""
    _need_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    args, init_script = CAMERA_FAILURES[problem]
    session = signed("POST", "/v1/sessions", {"redirect_url": f"{server}/v1/health"})
    url = session["verification_url"]
    if problem == "camera_insecure":
        url = url.replace("127.0.0.1", "kyc.example.test")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            if init_script:
                page.add_init_script(init_script)
            page.goto(url)
            page.click("#agree")
            page.wait_for_selector("#camera-error:not([hidden])", timeout=20_000)
            assert page.get_attribute("#camera-error", "data-problem") == problem
            assert page.inner_text("#camera-error") == catalog("en")[problem]
            assert page.get_attribute("#camera-error", "role") == "alert"
            assert page.inner_text("#start") == catalog("en")["try_again"]
        finally:
            browser.close()


def test_every_language_renders_without_missing_strings(server: str, signed: Any) -> None:
    """Each catalog, chosen by the browser's language, renders the notice with every placeholder
    filled; the Thai, Chinese, Japanese and Korean scripts are in the page text."""
    _need_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = _browser(playwright, None)
        try:
            for language in LANGUAGES:
                session = signed(
                    "POST",
                    "/v1/sessions",
                    {"redirect_url": f"{server}/v1/health", "check_mode": "document+liveness+compare"},
                )
                page = browser.new_context(locale=language).new_page()
                page.goto(session["verification_url"])
                page.wait_for_selector("#notice:not([hidden])")
                t = catalog(language)
                assert page.get_attribute("html", "lang") == language
                assert page.get_attribute("html", "dir") == t["dir"]
                text = page.inner_text("body")
                assert t["notice_heading"] in text and t["agree"] in text and t["step_document"] in text
                assert "{" not in text and "}" not in text, (language, text)
                assert page.inner_text("#step-of") == t["step_of"].replace("{n}", "1").replace("{total}", "4")
                page.context.close()
        finally:
            browser.close()


def test_bad_link_page_passes_axe(server: str) -> None:
    _need_chromium()
    _need(AXE, "axe-core", "npm install axe-core into node_modules/, or set OPENKYC_AXE_PATH")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = _browser(playwright, None)
        try:
            page = browser.new_context(bypass_csp=True, locale="th").new_page()
            response = page.goto(f"{server}/verify/not-a-token")
            assert response is not None and response.status == 404
            assert page.inner_text("#reason") == catalog("th")["link_unknown"]
            assert _serious(axe_violations(page)) == []
        finally:
            browser.close()
