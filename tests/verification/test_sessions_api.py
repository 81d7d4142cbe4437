"""Hosted verification: session creation, the end user's page and video, the result for the customer."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from attacks import read_frames, still_attack
from sqlalchemy import select

from openkyc.store.models.diagnostics import CallRecord

pytestmark = pytest.mark.slow


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def clip(shared_data: Path) -> dict[str, bytes]:
    path = shared_data / "grid-talking-face-videos" / "sbia1a.mpg"
    ok, jpeg = cv2.imencode(".jpg", read_frames(path, limit=3)[0])
    assert ok
    obama = (shared_data / "facerec-examples" / "identities" / "obama" / "obama.jpg").read_bytes()
    photo = cv2.imdecode(np.frombuffer(obama, np.uint8), cv2.IMREAD_COLOR)
    return {"video": path.read_bytes(), "frame": jpeg.tobytes(), "attack": still_attack(photo, seed=3)}


def test_hosted_flow_end_to_end(make_tenant: Any, runtime: Any, clip: dict[str, bytes]) -> None:
    tenant, other = make_tenant("shop"), make_tenant("other")
    # a recorded clip cannot follow a timed challenge drawn after it was made: the rule turns them off
    plain = tenant.post("/v1/rules", {"name": "plain", "config": {"hosted": {"challenge": False}}}).json()["rule_id"]
    created = tenant.post(
        "/v1/sessions",
        {
            "redirect_url": "https://shop.example/done?step=2",
            "rule_id": plain,
            "compare_image": b64(clip["frame"]),
            "extra": "order-991",
        },
    )
    assert created.status_code == 200, created.text
    token = created.json()["biz_token"]
    assert created.json()["verification_url"].endswith(f"/verify/{token}")

    page = tenant.client.get(f"/verify/{token}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Identity check" in page.text and "getUserMedia" in page.text
    assert "script-src 'nonce-" in page.headers["content-security-policy"]

    refused = tenant.client.post(f"/verify/{token}/submit", json={"video": b64(clip["video"])})
    assert refused.status_code == 403 and refused.json()["Error"]["Code"] == "UnauthorizedOperation.NoticeNotAccepted"
    assert tenant.client.post(f"/verify/{token}/notice", json={"agree": True}).status_code == 200
    submitted = tenant.client.post(f"/verify/{token}/submit", json={"video": b64(clip["video"])})
    assert submitted.status_code == 200, submitted.text
    out = submitted.json()
    assert out["Result"] == "Success" and out["finished"] is True
    assert out["redirect_url"] == f"https://shop.example/done?step=2&biz_token={token}"
    assert "app_id" not in out  # metering data stays on the server
    with runtime.transaction() as session:
        record = session.scalars(
            select(CallRecord).where(CallRecord.action == "SubmitSessionVideo", CallRecord.status_code == 200)
        ).one()
    assert (record.app_id, record.billable, record.result_code) == (tenant.app_id, True, "Success")

    result = tenant.get(f"/v1/sessions/{token}/result").json()
    assert result["state"] == "completed" and result["extra"] == "order-991"
    assert result["result"]["Result"] == "Success" and result["result"]["sim"] >= 70
    assert other.get(f"/v1/sessions/{token}/result").status_code == 404

    again = tenant.client.post(f"/verify/{token}/submit", json={"video": b64(clip["video"])})
    assert again.status_code == 403 and again.json()["Error"]["Code"] == "UnauthorizedOperation.SessionFinished"
    closed = tenant.client.get(f"/verify/{token}")
    assert "no longer valid" in closed.text


def test_failed_attempts_are_limited_by_the_rule(tenant: Any, clip: dict[str, bytes]) -> None:
    rule_id = tenant.post(
        "/v1/rules", {"name": "one-retry", "config": {"security": {"max_retries": 1}, "hosted": {"challenge": False}}}
    ).json()["rule_id"]
    token = tenant.post("/v1/sessions", {"redirect_url": "https://x.example/", "rule_id": rule_id}).json()["biz_token"]
    assert tenant.client.post(f"/verify/{token}/notice", json={"agree": True}).status_code == 200
    first = tenant.client.post(f"/verify/{token}/submit", json={"video": b64(clip["attack"])}).json()
    assert first["Result"] == "FailedOperation.LivessDetectFail" and first["finished"] is False
    assert first["attempts_left"] == 1
    second = tenant.client.post(f"/verify/{token}/submit", json={"video": b64(clip["attack"])}).json()
    assert second["finished"] is True and second["redirect_url"].startswith("https://x.example/?biz_token=")
    assert tenant.get(f"/v1/sessions/{token}/result").json()["result"]["Result"] == "FailedOperation.LivessDetectFail"


def test_expired_and_unknown_sessions(tenant: Any, runtime: Any) -> None:
    token = tenant.post("/v1/sessions", {"redirect_url": "https://x.example/"}).json()["biz_token"]
    real_clock = runtime.clock
    runtime.clock = lambda: real_clock() + timedelta(hours=1)
    try:
        assert "no longer valid" in tenant.client.get(f"/verify/{token}").text
        path = f"/v1/sessions/{token}/result"
        headers = tenant.sign("GET", path, timestamp=int(runtime.clock().timestamp()))
        assert tenant.client.get(path, headers=headers).json()["state"] == "expired"
    finally:
        runtime.clock = real_clock
    unknown = tenant.client.get("/verify/not-a-token")
    assert unknown.status_code == 404 and unknown.json()["Error"]["Code"] == "ResourceNotFound.Session"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x.example/", "/relative/path"])
def test_redirect_must_be_absolute_http(tenant: Any, url: str) -> None:
    response = tenant.post("/v1/sessions", {"redirect_url": url})
    assert response.status_code == 400
