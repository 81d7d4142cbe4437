"""The hosted page before any recording: the notice generated from the policy, consent recorded
with its version, declining, check modes, languages, branding, the flashing-colour warning and
HTML pages for bad links. No model runs here (the recording steps are in the slow tests)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hosted_helpers import HTML, b64, page_state, row, rule, session
from sqlalchemy import select

from openkyc.config.rules import contrast_ratio
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.vocabulary import Obligation, Purpose, RetentionKind
from openkyc.store.models.privacy import AuditRecord
from openkyc.web.i18n import catalog, choose, from_accept_language, match


def test_notice_lists_what_the_mode_collects_and_agreeing_records_a_consent(tenant: Any, runtime: Any) -> None:
    token = session(tenant, check_mode="document+liveness+compare")
    page = tenant.client.get(f"/verify/{token}")
    assert page.status_code == 200
    state = page_state(page.text)
    assert state["steps"] == ["notice", "document", "selfie", "done"] and state["consented"] is False
    policy = runtime.gate.policy
    media = min(2.0, policy.max_retention_hours(RetentionKind.DOCUMENT_IMAGE))
    results = min(72.0, policy.max_retention_hours(RetentionKind.VERIFICATION_RESULT))
    t = catalog("en")
    for item, hours in (("document_image", media), ("face_video", media), ("result_document", results)):
        text = t["notice_items"][item].replace("{operator}", t["operator_default"]).replace("{hours}", f"{hours:g}")
        assert f'<li data-item="{item}">{text}</li>' in page.text
    assert 'data-item="reference"' not in page.text  # no reference photo in this mode
    plain = tenant.client.get(f"/verify/{session(tenant)}").text  # liveness: no document, nothing read from one
    assert 'data-item="result"' in plain and "document" not in plain.split('data-item="result"')[1].split("</li>")[0]

    agreed = tenant.client.post(f"/verify/{token}/notice", json={"agree": True})
    assert agreed.status_code == 200, agreed.text
    version = f"hosted-notice-2/policy-{policy.version}"
    assert agreed.json()["text_version"] == version
    stored = row(runtime, token)
    with runtime.transaction() as db:
        history = ConsentRepository(db, runtime.gate).history(
            tenant.app_id, f"session:{stored.biz_token}", purpose=Obligation.SUBJECT_RIGHTS
        )
        audited = db.scalars(select(AuditRecord).where(AuditRecord.event_type == "consent")).all()
    assert [(c.purpose, c.text_version, c.id) for c in history] == [
        (Purpose.PROVIDE_FEATURES, version, stored.consent_id)
    ]
    assert [a.details["action"] for a in audited] == ["grant"]
    # a reload starts after the notice; the customer sees the consent in the result
    assert page_state(tenant.client.get(f"/verify/{token}").text)["consented"] is True
    assert tenant.get(f"/v1/sessions/{token}/result").json()["consented"] is True


def test_declining_ends_the_session_with_a_distinct_result(tenant: Any, runtime: Any) -> None:
    token = session(tenant, extra="order-5")
    declined = tenant.client.post(f"/verify/{token}/notice", json={"agree": False})
    assert declined.status_code == 200, declined.text
    assert declined.json() == {"state": "declined", "redirect_url": f"https://shop.example/done?biz_token={token}"}
    result = tenant.get(f"/v1/sessions/{token}/result").json()
    assert (result["state"], result["result"], result["consented"], result["attempts"]) == ("declined", None, False, 0)
    page = tenant.client.get(f"/verify/{token}", headers=HTML)
    assert page.status_code == 200 and 'data-reason="declined"' in page.text
    assert catalog("en")["link_declined"] in page.text and "const S" not in page.text
    for path, body in (("submit", {"video": b64(b"x" * 64)}), ("notice", {"agree": True})):
        again = tenant.client.post(f"/verify/{token}/{path}", json=body)
        assert again.status_code == 403 and again.json()["Error"]["Code"] == "UnauthorizedOperation.SessionFinished"
    with runtime.transaction() as db:
        audited = db.scalars(select(AuditRecord).where(AuditRecord.event_type == "consent")).all()
    assert [a.details["action"] for a in audited] == ["decline"]


def test_submit_before_agreeing_is_refused_and_uses_no_attempt(tenant: Any, runtime: Any) -> None:
    token = session(tenant)
    refused = tenant.client.post(f"/verify/{token}/submit", json={"video": b64(b"\x1a\x45\xdf\xa3" * 64)})
    assert refused.status_code == 403 and refused.json()["Error"]["Code"] == "UnauthorizedOperation.NoticeNotAccepted"
    assert row(runtime, token).attempts == 0


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"check_mode": "selfie"}, 400, None),
        ({"check_mode": "liveness+compare"}, 400, "MissingParameter"),
        ({"check_mode": "document", "compare_image": b64(b"\x89PNG....")}, 400, "InvalidParameterValue.CheckMode"),
        ({"language": "xx"}, 400, None),
    ],
)
def test_check_mode_and_language_are_validated(
    tenant: Any, fields: dict[str, Any], status: int, code: str | None
) -> None:
    response = tenant.post("/v1/sessions", {"redirect_url": "https://shop.example/done", **fields})
    assert response.status_code == status, response.text
    if code:
        assert response.json()["Error"]["Code"] == code


@pytest.mark.parametrize(
    ("mode", "steps"),
    [
        (None, ["notice", "selfie", "done"]),
        ("liveness", ["notice", "selfie", "done"]),
        ("document", ["notice", "document", "done"]),
        ("document+liveness+compare", ["notice", "document", "selfie", "done"]),
    ],
)
def test_the_check_mode_chooses_the_steps(tenant: Any, mode: str | None, steps: list[str]) -> None:
    created = tenant.post("/v1/sessions", {"redirect_url": "https://shop.example/done", "check_mode": mode})
    assert created.json()["check_mode"] == (mode or "liveness")
    state = page_state(tenant.client.get(f"/verify/{created.json()['biz_token']}").text)
    assert state["steps"] == steps and state["check_mode"] == (mode or "liveness")


def test_a_submit_without_the_modes_inputs_is_refused_and_uses_no_attempt(tenant: Any, runtime: Any) -> None:
    token = session(tenant, check_mode="document")
    assert tenant.client.post(f"/verify/{token}/notice", json={"agree": True}).status_code == 200
    missing = tenant.client.post(f"/verify/{token}/submit", json={"video": b64(b"video" * 40)})
    assert missing.status_code == 400 and missing.json()["Error"]["Code"] == "MissingParameter"
    assert row(runtime, token).attempts == 0


def test_accept_language_matching() -> None:
    assert from_accept_language("th-TH,th;q=0.9,en;q=0.5") == "th"
    assert from_accept_language("fr-FR, zh-TW;q=0.8, en;q=0.7") == "zh-Hant"
    assert from_accept_language("zh-CN") == "zh-Hans"
    assert from_accept_language("zh-Hant-HK") == "zh-Hant"
    assert from_accept_language("en;q=0.2, ko;q=0.9") == "ko"
    assert from_accept_language("in-ID") == "id"
    assert from_accept_language("ms;q=0, vi") == "vi"
    assert from_accept_language("de, fr") is None and from_accept_language("") is None
    assert match("zh") == "zh-Hans" and match("fil") is None
    assert choose(None, None, None) == "en"
    assert choose("vi", "ja", "ko") == "vi" and choose(None, "ja", "ko") == "ja" and choose(None, None, "ko") == "ko"


def test_language_is_the_sessions_then_the_rules_then_the_browsers(tenant: Any) -> None:
    plain = session(tenant)
    japanese = rule(tenant, "ja", {"language": "ja"})

    def lang(token: str, header: str | None) -> str:
        headers = {"Accept-Language": header} if header else {}
        html = tenant.client.get(f"/verify/{token}", headers=headers).text
        return html.split('<html lang="', 1)[1].split('"', 1)[0]

    assert lang(plain, None) == "en"
    assert lang(plain, "th-TH,en;q=0.5") == "th"
    assert lang(plain, "zh-TW") == "zh-Hant"
    assert lang(session(tenant, rule_id=japanese), "ko-KR") == "ja"
    assert lang(session(tenant, rule_id=japanese, language="vi"), "ko-KR") == "vi"
    assert lang(session(tenant, language="id"), None) == "id"


def test_branding_by_rule_with_contrast_checked(tenant: Any) -> None:
    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    hosted = {
        "operator_name": "Acme Bank",
        "logo_url": "https://cdn.acme.example/logo.png",
        "theme_color": "#0B5CAD",
        "privacy_notice_url": "https://acme.example/privacy",
    }
    token = session(tenant, rule_id=rule(tenant, "brand", {"hosted": hosted}))
    page = tenant.client.get(f"/verify/{token}")
    assert "--theme: #0b5cad;" in page.text
    assert '<img src="https://cdn.acme.example/logo.png" alt="Acme Bank logo">' in page.text
    assert "<span>For Acme Bank</span>" in page.text
    assert "To check your identity for Acme Bank, this service collects:" in page.text
    assert 'href="https://acme.example/privacy"' in page.text
    assert "img-src 'self' data: blob: https://cdn.acme.example;" in page.headers["content-security-policy"]
    unbranded = tenant.client.get(f"/verify/{session(tenant)}").text
    assert "<img" not in unbranded.split("<main", 1)[0] and "privacy-link" not in unbranded
    for bad in ({"theme_color": "#ffcc00"}, {"theme_color": "blue"}, {"logo_url": "http://cdn.acme.example/l.png"}):
        refused = tenant.post("/v1/rules", {"name": "bad-brand", "config": {"hosted": bad}})
        assert refused.status_code == 400, (bad, refused.text)
    low = tenant.post("/v1/rules", {"name": "low", "config": {"hosted": {"theme_color": "#ffcc00"}}})
    assert "contrast" in low.json()["Error"]["Message"]


def test_reflection_warning_and_silent_choice(tenant: Any, runtime: Any) -> None:
    allowing = rule(
        tenant, "flash-ok", {"liveness": {"mode": "reflection"}, "hosted": {"silent_instead_of_reflection": True}}
    )
    token = session(tenant, rule_id=allowing)
    page = tenant.client.get(f"/verify/{token}").text
    warning = catalog("en")["flash_warning"]
    assert 'id="flash-warning"' in page and warning in page and 'id="agree-silent"' in page
    assert page.index(warning) < page.index('id="agree"')  # the warning comes before agreeing
    chosen = tenant.client.post(f"/verify/{token}/notice", json={"agree": True, "silent": True})
    assert chosen.status_code == 200, chosen.text
    assert row(runtime, token).liveness_mode == "silent"
    assert page_state(tenant.client.get(f"/verify/{token}").text)["mode"] == "silent"

    strict = session(tenant, rule_id=rule(tenant, "flash-only", {"liveness": {"mode": "reflection"}}))
    strict_page = tenant.client.get(f"/verify/{strict}").text
    assert 'id="flash-warning"' in strict_page and 'id="agree-silent"' not in strict_page
    refused = tenant.client.post(f"/verify/{strict}/notice", json={"agree": True, "silent": True})
    assert refused.status_code == 400 and refused.json()["Error"]["Code"] == "InvalidParameterValue.LivenessMode"
    assert 'id="flash-warning"' not in tenant.client.get(f"/verify/{session(tenant)}").text


def test_bad_and_expired_links_get_an_html_page_in_the_browsers_language(tenant: Any, runtime: Any) -> None:
    unknown = tenant.client.get("/verify/not-a-token", headers={**HTML, "Accept-Language": "ja"})
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert catalog("ja")["link_unknown"] in unknown.text and '<html lang="ja" dir="ltr">' in unknown.text
    assert "script-src 'nonce-" in unknown.headers["content-security-policy"]
    api = tenant.client.get("/verify/not-a-token")  # a client that does not ask for HTML gets the envelope
    assert api.status_code == 404 and api.json()["Error"]["Code"] == "ResourceNotFound.Session"

    token = session(tenant)
    real_clock = runtime.clock
    runtime.clock = lambda: real_clock() + timedelta(hours=1)
    try:
        expired = tenant.client.get(f"/verify/{token}", headers={**HTML, "Accept-Language": "ko"})
    finally:
        runtime.clock = real_clock
    assert expired.status_code == 200 and catalog("ko")["link_expired"] in expired.text


def test_challenge_mode_is_the_default_and_bound_to_the_session(tenant: Any, runtime: Any) -> None:
    from openkyc.store.models.liveness import LivenessChallengeRow

    token = session(tenant)
    assert page_state(tenant.client.get(f"/verify/{token}").text)["challenge"] is True
    issued = tenant.client.post(f"/verify/{token}/challenge")
    assert issued.status_code == 200, issued.text
    schedule = issued.json()["schedule"]
    assert len(schedule["actions"]) == 3 and schedule["colors"] is None
    with runtime.transaction() as db:
        stored = db.get(LivenessChallengeRow, issued.json()["challenge_id"])
        assert stored is not None and stored.session_ref == runtime.subject_keys.token_ref(token)

    assert tenant.client.post(f"/verify/{token}/notice", json={"agree": True}).status_code == 200
    video = b64(b"\x1a\x45\xdf\xa3" + b"\x00" * 400)
    missing = tenant.client.post(f"/verify/{token}/submit", json={"video": video})
    assert missing.status_code == 400 and missing.json()["Error"]["Code"] == "MissingParameter"
    other = session(tenant)
    foreign = tenant.client.post(f"/verify/{other}/challenge").json()["challenge_id"]
    refused = tenant.client.post(f"/verify/{token}/submit", json={"video": video, "challenge_id": foreign})
    assert refused.status_code == 400, refused.text
    assert refused.json()["Error"]["Code"] == "InvalidParameterValue.LivenessChallengeSession"
    assert row(runtime, token).attempts == 0  # neither used an attempt

    actions = rule(tenant, "two-actions", {"liveness": {"mode": "action", "actions": ["nod", "blink"]}})
    drawn = tenant.client.post(f"/verify/{session(tenant, rule_id=actions)}/challenge").json()["schedule"]
    assert sorted(a["action"] for a in drawn["actions"]) == ["blink", "nod"]
    flash = rule(
        tenant, "flash-c", {"liveness": {"mode": "reflection"}, "hosted": {"silent_instead_of_reflection": True}}
    )
    coloured = session(tenant, rule_id=flash)
    assert tenant.client.post(f"/verify/{coloured}/challenge").json()["schedule"]["colors"]
    quiet = session(tenant, rule_id=flash)
    assert tenant.client.post(f"/verify/{quiet}/notice", json={"agree": True, "silent": True}).status_code == 200
    assert tenant.client.post(f"/verify/{quiet}/challenge").json()["schedule"]["colors"] is None  # no flashes

    off = session(tenant, rule_id=rule(tenant, "off", {"hosted": {"challenge": False}}))
    assert page_state(tenant.client.get(f"/verify/{off}").text)["challenge"] is False
    assert tenant.client.post(f"/verify/{off}/challenge").status_code == 400
    assert page_state(tenant.client.get(f"/verify/{session(tenant, check_mode='document')}").text)["challenge"] is False


def test_the_sessions_consent_is_exported_and_erased_with_the_session(tenant: Any, runtime: Any) -> None:
    token = session(tenant, check_mode="document")
    consent_id = tenant.client.post(f"/verify/{token}/notice", json={"agree": True}).json()["consent_id"]
    ref = row(runtime, token).biz_token
    exported = tenant.get(f"/v1/privacy/sessions/{token}").json()
    values = {item["column"]: item["value"] for item in exported["items"] if item["table"] == "verification_sessions"}
    assert values["consent_id"]["consent_id"] == consent_id and values["check_mode"]["check_mode"] == "document"
    erased = tenant.post(f"/v1/privacy/sessions/{token}/erase")
    assert erased.status_code == 200, erased.text
    assert erased.json()["items"]["hosted_sessions"] == 1 and erased.json()["items"]["consents"] == 1
    with runtime.transaction() as db:
        assert (
            ConsentRepository(db, runtime.gate).history(
                tenant.app_id, f"session:{ref}", purpose=Obligation.SUBJECT_RIGHTS
            )
            == []
        )


@pytest.mark.parametrize("value", ["yes", "true", 1, "1", "on", "false", 0, None])
def test_only_a_json_boolean_answers_the_notice(tenant: Any, runtime: Any, value: Any) -> None:
    """Consent is explicit: a string or number that could pass for a boolean records nothing."""
    token = session(tenant)
    answered = tenant.client.post(f"/verify/{token}/notice", json={"agree": value})
    assert answered.status_code == 400, answered.text
    assert answered.json()["Error"]["Code"] == "InvalidParameterValue"
    assert page_state(tenant.client.get(f"/verify/{token}").text)["consented"] is False
    assert tenant.client.post(f"/verify/{token}/notice", json={"agree": True}).status_code == 200
