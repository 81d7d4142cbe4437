"""The hosted flow through Tencent's SDK: ApplyWebVerificationBizTokenIntl, the page in Debian's
Chromium (a real talking-face clip as its camera), then GetWebVerificationResultIntl."""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "liveness"))  # the page test's helpers

from server_data import first_frame_jpeg
from test_hosted_page_browser import CHROMIUM, clip_frames, write_y4m

from openkyc.client import Client

pytestmark = pytest.mark.slow

models = pytest.importorskip("tencentcloud.faceid.v20180301.models")
sdk_errors = pytest.importorskip("tencentcloud.common.exception.tencent_cloud_sdk_exception")


def test_biz_token_page_and_result_through_the_sdk(tencent_server: Any, shared_data: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    clip = shared_data / "grid-talking-face-videos" / "swiz3n.mpg"
    camera = tmp_path / "camera.y4m"
    write_y4m(clip_frames(clip), camera)
    faceid = tencent_server.faceid()
    done_url = f"{tencent_server.process.url}/v1/health?came=back"

    apply = models.ApplyWebVerificationBizTokenIntlRequest()
    apply.RedirectURL = done_url
    apply.CompareImageBase64 = base64.b64encode(first_frame_jpeg(clip)).decode()
    apply.Extra = "order-17"
    config = models.WebVerificationConfigIntl()
    config.CheckMode = 2
    apply.Config = config
    # a recorded clip cannot follow a timed challenge drawn after it: a rule without challenges
    with Client(
        tencent_server.process.url, tencent_server.credential.secret_id, tencent_server.credential.secret_key
    ) as native:
        apply.RuleId = native.create_rule("tencent-hosted", {"hosted": {"challenge": False}})["rule_id"]
    token = faceid.ApplyWebVerificationBizTokenIntl(apply)
    assert token.BizToken and token.VerificationURL.endswith(f"/verify/{token.BizToken}")

    pending = models.GetWebVerificationResultIntlRequest()
    pending.BizToken = token.BizToken
    before = faceid.GetWebVerificationResultIntl(pending)
    assert before.ErrorCode is None and before.VerificationDetailList == []

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
            page.goto(token.VerificationURL)
            page.click("#agree")  # the notice comes first
            page.wait_for_selector("#selfie:not([hidden])")
            page.click("#start")
            page.wait_for_url(f"{done_url}&biz_token={token.BizToken}", timeout=120_000)
        finally:
            browser.close()

    result = faceid.GetWebVerificationResultIntl(pending)
    assert result.ErrorCode == 0, result.ErrorMsg
    assert result.Extra == "order-17"
    [detail] = result.VerificationDetailList
    assert detail.ErrorCode == 0 and detail.LivenessErrorCode == 0 and detail.CompareErrorCode == 0
    assert detail.Similarity >= 70
    assert detail.Seq and detail.ReqTimestamp > 0


def test_unknown_biz_token_and_unread_card_type_are_refused(tencent_server: Any) -> None:
    faceid = tencent_server.faceid()
    request = models.GetWebVerificationResultIntlRequest()
    request.BizToken = "no-such-token-000000000000000000"
    with pytest.raises(sdk_errors.TencentCloudSDKException) as caught:
        faceid.GetWebVerificationResultIntl(request)
    assert caught.value.code == "InvalidParameterValue.BizTokenIllegal"

    apply = models.ApplyWebVerificationBizTokenIntlRequest()
    apply.RedirectURL = "https://example.com/done"
    config = models.WebVerificationConfigIntl()
    config.CheckMode = 1
    config.IDCardType = "PhilippinesVoteID"  # a card OpenKYC has no reader for
    apply.Config = config
    with pytest.raises(sdk_errors.TencentCloudSDKException) as caught:
        faceid.ApplyWebVerificationBizTokenIntl(apply)
    assert caught.value.code == "UnsupportedOperation"
