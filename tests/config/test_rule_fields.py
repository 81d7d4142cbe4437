"""Every rule field does what docs/api.md says: a walk over ``RuleConfig`` and one effect test per field.

``EFFECTS`` names, for each leaf field of :class:`openkyc.config.rules.RuleConfig`, the tests that
prove its effect. A field added to the schema without an effect test, or an effect test that no
longer exists, fails here. The effects that need no model are tested in this file; the others point
to the test that runs the real models (marked ``slow``; they still run in CI).
"""

from __future__ import annotations

import ast
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from pydantic import BaseModel
from sqlalchemy import select

from openkyc.config.rules import RuleConfig
from openkyc.documents.reader import DocumentResult
from openkyc.documents.service import judge
from openkyc.store.models.verification import VerificationResult, VerificationSession
from openkyc.web.i18n import available, catalog

TESTS = Path(__file__).resolve().parents[1]
HERE = "config/test_rule_fields.py"

EFFECTS: dict[str, list[str]] = {
    "liveness.mode": [f"{HERE}::test_liveness_settings_reach_the_hosted_session", f"{HERE}::test_video_limits"],
    "liveness.actions": [f"{HERE}::test_liveness_settings_reach_the_hosted_session"],
    "liveness.randomize_order": [f"{HERE}::test_randomize_order_shuffles_the_session_actions"],
    "compare_threshold": [
        "api/test_faces_api.py::test_compare_threshold_comes_from_the_rule",
        "api/test_faces_api.py::test_search_answers_match_and_the_rules_threshold",
    ],
    "embedder": [
        "api/test_embedders_api.py::test_compare_uses_the_rules_embedder",
        "api/test_embedders_api.py::test_collection_embedder_defaults_from_the_rule_else_sface",
    ],
    "document_types": [
        "verification/test_identity_api.py::test_ocr_rule_decides_accepted_types",
        f"{HERE}::test_document_types_and_failing_warnings",
    ],
    "failing_document_warnings": [f"{HERE}::test_document_types_and_failing_warnings"],
    "allow_expired_document": [
        "documents/test_document_rules.py::test_expired_document_fails_unless_the_rule_allows_it",
        "documents/test_document_rules.py::test_identity_verification_stores_and_exports_the_document_verdict",
    ],
    "min_age": ["documents/test_document_rules.py::test_minimum_age"],
    "accepted_issuing_states": ["documents/test_document_rules.py::test_accepted_issuing_states"],
    "video.max_bytes": [f"{HERE}::test_video_limits"],
    "video.max_seconds": [f"{HERE}::test_video_limits"],
    "video.min_seconds_silent": [f"{HERE}::test_video_limits"],
    "retention.media_hours": ["privacy_api/test_retention_sweep.py::test_a_rule_shortens_media_retention"],
    "retention.result_hours": [f"{HERE}::test_video_limits"],
    "security.ip_allow_list": [
        "api/test_ip_allow_list.py::test_every_route_with_a_rule_refuses_an_address_outside_the_list",
        "api/test_ip_allow_list.py::test_hosted_submit_is_refused_outside_the_list_and_uses_no_attempt",
    ],
    "security.session_ttl_minutes": [f"{HERE}::test_session_ttl_and_attempts"],
    "security.max_retries": [
        f"{HERE}::test_session_ttl_and_attempts",
        "verification/test_sessions_api.py::test_failed_attempts_are_limited_by_the_rule",
    ],
    "webhook_url": ["verification/test_webhooks_api.py::test_liveness_result_is_posted_to_the_rules_webhook"],
    "language": [
        f"{HERE}::test_language_translates_the_hosted_page",
        "web/test_hosted_notice.py::test_language_is_the_sessions_then_the_rules_then_the_browsers",
    ],
    "hosted.operator_name": ["web/test_hosted_notice.py::test_branding_by_rule_with_contrast_checked"],
    "hosted.logo_url": ["web/test_hosted_notice.py::test_branding_by_rule_with_contrast_checked"],
    "hosted.theme_color": ["web/test_hosted_notice.py::test_branding_by_rule_with_contrast_checked"],
    "hosted.privacy_notice_url": ["web/test_hosted_notice.py::test_branding_by_rule_with_contrast_checked"],
    "hosted.silent_instead_of_reflection": ["web/test_hosted_notice.py::test_reflection_warning_and_silent_choice"],
    "hosted.challenge": [
        "web/test_hosted_notice.py::test_challenge_mode_is_the_default_and_bound_to_the_session",
        "web/test_hosted_page_browser.py::test_challenge_prompts_are_shown_at_the_scheduled_times",
    ],
}


def _leaves(model: type[BaseModel], prefix: str = "") -> list[str]:
    found: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.extend(_leaves(annotation, f"{prefix}{name}."))
        else:
            found.append(f"{prefix}{name}")
    return found


def test_every_rule_field_has_an_effect_test() -> None:
    assert sorted(_leaves(RuleConfig)) == sorted(EFFECTS)


@pytest.mark.parametrize("node", sorted({node for nodes in EFFECTS.values() for node in nodes}))
def test_the_named_effect_tests_exist(node: str) -> None:
    path, name = node.split("::")
    tree = ast.parse((TESTS / path).read_text())
    assert name in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}, node


def _rule(tenant: Any, name: str, config: dict[str, Any]) -> str:
    created = tenant.post("/v1/rules", {"name": name, "config": config})
    assert created.status_code == 200, created.text
    return str(created.json()["rule_id"])


def _session(tenant: Any, rule_id: str) -> str:
    created = tenant.post("/v1/sessions", {"redirect_url": "https://shop.example/done", "rule_id": rule_id})
    assert created.status_code == 200, created.text
    return str(created.json()["biz_token"])


def _row(runtime: Any, token: str) -> VerificationSession:
    with runtime.transaction() as session:
        row = session.get(VerificationSession, runtime.subject_keys.token_ref(token))
        assert row is not None
        session.expunge(row)
        return row


def test_liveness_settings_reach_the_hosted_session(tenant: Any, runtime: Any) -> None:
    rule_id = _rule(tenant, "act", {"liveness": {"mode": "action", "actions": ["nod", "blink"]}})
    token = _session(tenant, rule_id)
    assert _row(runtime, token).actions == ["nod", "blink"]
    page = tenant.client.get(f"/verify/{token}").text
    assert "while you follow the prompts" in _body(page) and '"actions": ["nod", "blink"]' in page
    # with timed challenges (the default) every mode prompts; without them a silent rule does not
    silent = _session(tenant, _rule(tenant, "quiet", {"hosted": {"challenge": False}}))
    assert "while you follow the prompts" not in _body(tenant.client.get(f"/verify/{silent}").text)
    challenged = _session(tenant, _rule(tenant, "challenged", {}))
    assert "while you follow the prompts" in _body(tenant.client.get(f"/verify/{challenged}").text)
    reflect = _session(tenant, _rule(tenant, "colours", {"liveness": {"mode": "reflection"}}))
    assert "the screen changes colour" in _body(tenant.client.get(f"/verify/{reflect}").text)


def _body(page: str) -> str:
    """The page's visible markup (the script, which holds the whole catalog, cut off)."""
    return page.split("<script", 1)[0]


def test_randomize_order_shuffles_the_session_actions(tenant: Any, runtime: Any) -> None:
    fixed = _rule(tenant, "fixed", {"liveness": {"mode": "action", "actions": ["nod", "blink"]}})
    shuffled = _rule(
        tenant, "shuffled", {"liveness": {"mode": "action", "actions": ["nod", "blink"], "randomize_order": True}}
    )
    assert {tuple(_row(runtime, _session(tenant, fixed)).actions) for _ in range(5)} == {("nod", "blink")}
    orders = {tuple(_row(runtime, _session(tenant, shuffled)).actions) for _ in range(30)}
    assert orders == {("nod", "blink"), ("blink", "nod")}  # each order missing: probability 2 ** -29


def test_session_ttl_and_attempts(tenant: Any, runtime: Any) -> None:
    rule_id = _rule(tenant, "brief", {"security": {"session_ttl_minutes": 7, "max_retries": 0}})
    token = _session(tenant, rule_id)
    row = _row(runtime, token)  # stored under the token's keyed hash
    assert row.expires_at - row.created_at == timedelta(minutes=7)
    page = tenant.client.get(f"/verify/{token}").text
    assert 'data-left="1"' in page  # max_retries 0: one attempt
    default_token = _session(tenant, _rule(tenant, "default", {}))
    default = _row(runtime, default_token)
    assert default.expires_at - default.created_at == timedelta(minutes=30)
    assert 'data-left="4"' in tenant.client.get(f"/verify/{default_token}").text


@pytest.mark.parametrize(
    ("language", "lang", "title"),
    [
        ("en", "en", "Identity check"),
        ("zh", "zh-Hans", "身份验证"),
        ("zh-Hant", "zh-Hant", "身分驗證"),
        ("ja", "ja", "本人確認"),
        ("fr", "en", "Identity check"),
    ],
)
def test_language_translates_the_hosted_page(tenant: Any, language: str, lang: str, title: str) -> None:
    """``zh`` is Simplified Chinese; ``fr`` has no catalog and falls back to English, saying so in ``lang``."""
    rule_id = _rule(tenant, f"lang-{language}", {"language": language})
    page = tenant.client.get(f"/verify/{_session(tenant, rule_id)}").text
    assert f'<html lang="{lang}" dir="ltr">' in page
    assert f"<h1>{title}</h1>" in page
    strings = catalog(language)
    assert strings["start"] in page and strings["privacy_note"].replace("'", "&#39;") in page


def test_every_catalog_has_the_english_keys() -> None:
    assert {"en", "zh-Hans", "zh-Hant", "th", "id", "ms", "vi", "ja", "ko"} <= available()
    english = catalog("en")
    for language in available():
        strings = catalog(language)
        assert set(strings) == set(english), language
        assert set(strings["results"]) == set(english["results"]), language


def test_document_types_and_failing_warnings() -> None:
    card = DocumentResult(code="Success", document_type="HK_ID", warnings=("WarnGlare",))
    today = date(2026, 6, 1)
    assert judge(card, RuleConfig(), today)[0] == "Success"
    assert judge(card, RuleConfig(document_types=["TD3"]), today)[0] == "FailedOperation.DocumentTypeNotAllowed"
    strict = RuleConfig(failing_document_warnings=["WarnGlare"])
    code, details = judge(card, strict, today)
    assert code == "FailedOperation.DocumentWarnings"
    assert details["rule_type"] == "HK_ID" and details["failing_warnings"] == ["WarnGlare"]


def _video(seconds: float, fps: int = 10) -> bytes:
    """Random grey frames (no face), H.264 in MP4: decoding needs no model, and no face is found."""
    rng = np.random.default_rng(1)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = {"crf": "10", "preset": "veryfast"}
        for _ in range(int(seconds * fps)):
            image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


@pytest.mark.slow  # the liveness checker loads YuNet before decoding
def test_video_limits(tenant: Any, runtime: Any) -> None:
    import base64

    video = _video(3.0)
    assert len(video) > 64 * 1024
    body = {"video": base64.b64encode(video).decode()}

    names = iter(range(100))

    def liveness(config: dict[str, Any]) -> Any:
        return tenant.post("/v1/liveness", {**body, "rule_id": _rule(tenant, f"video-{next(names)}", config)})

    too_big = liveness({"video": {"max_bytes": 64 * 1024}})
    assert too_big.json()["Error"]["Code"] == "InvalidParameterValue.VideoSizeTooLarge", too_big.text
    too_long = liveness({"video": {"max_seconds": 2.0}})
    assert too_long.json()["Error"]["Code"] == "InvalidParameterValue.VideoDurationExceeded", too_long.text
    default = liveness({})  # long enough, decoded, then no face in any frame
    assert default.json()["Error"]["Code"] == "FailedOperation.LivessNoFace", default.text
    # a longer minimum for silent liveness: a result (not an error), kept for the rule's result_hours
    short = liveness({"video": {"min_seconds_silent": 5.0}, "retention": {"result_hours": 1.5}})
    assert short.status_code == 200 and short.json()["Result"] == "FailedOperation.SilentTooShort", short.text
    # the action mode of the rule is used: the video is then too short for nothing, but no face is found
    action = liveness({"liveness": {"mode": "action", "actions": ["blink"]}, "video": {"min_seconds_silent": 5.0}})
    assert action.json()["Error"]["Code"] == "FailedOperation.LivessNoFace", action.text
    with runtime.transaction() as session:
        stored = session.scalars(
            select(VerificationResult).where(VerificationResult.id == short.json()["verification_id"])
        ).one()
        kept = stored.expires_at - stored.created_at
    assert kept == timedelta(hours=1.5)
