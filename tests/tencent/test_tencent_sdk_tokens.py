"""Tencent's SDK token actions on hosted sessions, in-process: tokens, pending and refused reads,
security level 1 without a timed challenge, the page the session ends on."""

from __future__ import annotations

from typing import Any

import pytest
from test_tencent_protocol import call


def answer(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json()["Response"])


@pytest.mark.parametrize(
    ("apply", "params", "read"),
    [
        ("ApplyLivenessToken", {"SecureLevel": "1"}, "GetLivenessResult"),
        ("GetFaceIdTokenIntl", {"CheckMode": "liveness", "Extra": "order-1"}, "GetFaceIdResultIntl"),
        ("ApplySdkVerificationToken", {"CheckMode": 3, "Extra": "order-2"}, "GetSdkVerificationResult"),
        ("ApplySdkVerificationToken", {"IdCardType": "MLIDPassport", "Extra": "order-3"}, "GetSdkVerificationResult"),
    ],
)
def test_a_token_is_a_hosted_session_still_open(tenant: Any, apply: str, params: dict[str, Any], read: str) -> None:
    applied = answer(call(tenant.client, tenant, apply, params))
    token = applied["SdkToken"]
    assert token and applied["VerificationURL"] == f"http://testserver/verify/{token}"
    assert tenant.client.get(f"/verify/{token}").status_code == 200  # the page that replaces the SDK

    pending = answer(call(tenant.client, tenant, read, {"SdkToken": token}))
    assert pending["Result"] is None and "RequestId" in pending
    if "Extra" in pending:
        assert pending["Extra"] == params.get("Extra")
    if read == "GetSdkVerificationResult":
        assert pending["CompareResults"] == [] and pending["ChargeCount"] == 0

    # the same token is not served to another app
    other = tenant.__class__(0, 0, *_credential(tenant), tenant.client)
    refused = answer(call(tenant.client, other, read, {"SdkToken": token}))
    assert refused["Error"]["Code"] == "InvalidParameterValue.BizTokenIllegal"


def _credential(tenant: Any) -> tuple[str, str]:
    from openkyc.accounts import service as accounts

    runtime = tenant.client.app.state.runtime
    with runtime.transaction() as session:
        account = accounts.create_account(session, "other-account")
        app = accounts.create_app(session, account.id, "other")
        issued = accounts.create_credential(session, runtime.keyring, app.id)
    return issued.secret_id, issued.secret_key


def test_a_declined_session_answers_token_expired(tenant: Any) -> None:
    token = answer(call(tenant.client, tenant, "GetFaceIdTokenIntl", {"SecureLevel": "1"}))["SdkToken"]
    declined = tenant.client.post(f"/verify/{token}/notice", json={"agree": False})
    assert declined.status_code == 200
    assert declined.json()["redirect_url"] == f"/verify/{token}?biz_token={token}"  # no RedirectURL: its own page
    for read in ("GetFaceIdResultIntl", "GetLivenessResult", "GetSdkVerificationResult"):
        refused = answer(call(tenant.client, tenant, read, {"SdkToken": token}))
        assert refused["Error"]["Code"] == "InvalidParameterValue.BizTokenExpired", read


@pytest.mark.parametrize(("level", "challenged"), [("1", False), ("4", True), (None, True)])
def test_only_security_level_1_drops_the_timed_challenge(tenant: Any, level: str | None, challenged: bool) -> None:
    params = {"SecureLevel": level} if level else {}
    token = answer(call(tenant.client, tenant, "ApplyLivenessToken", params))["SdkToken"]
    challenge = tenant.client.post(f"/verify/{token}/challenge")
    if challenged:
        assert challenge.status_code == 200, challenge.text
        assert challenge.json()["challenge_id"]
    else:
        assert challenge.json()["Error"]["Code"] == "InvalidParameterValue.LivenessMode"


@pytest.mark.parametrize(
    ("action", "params", "check_mode"),
    [
        ("ApplyWebVerificationBizTokenIntl", {"Config": {"CheckMode": 1}}, "document+liveness+compare"),
        ("ApplyWebVerificationBizTokenIntl", {"Config": {"CheckMode": 3}}, "liveness"),
        (
            "ApplyWebVerificationBizTokenIntl",
            {"Config": {"CheckMode": 4, "IDCardType": "HKIDCard", "AllowExpiredDocument": False}},
            "document",
        ),
        ("ApplySdkVerificationToken", {"IdCardType": "HK"}, "document+liveness+compare"),
    ],
)
def test_tencent_check_modes_become_session_check_modes(
    tenant: Any, action: str, params: dict[str, Any], check_mode: str
) -> None:
    if action == "ApplyWebVerificationBizTokenIntl":
        params = {"RedirectURL": "https://shop.example/done", **params}
    applied = answer(call(tenant.client, tenant, action, params))
    token = applied.get("BizToken") or applied["SdkToken"]
    session = tenant.get(f"/v1/sessions/{token}/result").json()
    assert session["check_mode"] == check_mode and session["state"] == "created"
    if action == "ApplyWebVerificationBizTokenIntl":
        pending = answer(call(tenant.client, tenant, "GetWebVerificationResultIntl", {"BizToken": token}))
        assert (pending["ErrorCode"], pending["OCRResult"], pending["VerificationDetailList"]) == (None, None, [])
