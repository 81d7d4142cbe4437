"""The hosted steps with the real models on real clips and rendered documents: identity (document,
liveness, comparison) and document-only sessions answer as ``POST /v1/verifications/identity``
does, and a retried upload of one attempt is answered again, not counted or billed twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from attacks import read_frames
from hosted_helpers import b64, plain_rule, row, session
from sqlalchemy import func, select

from documents.render import render_document, render_two_sided_td1
from openkyc.documents.reader import DocumentReader
from openkyc.documents.sides import combine, needs_back
from openkyc.store.models.diagnostics import CallRecord

pytestmark = pytest.mark.slow

CLIP = "grid-talking-face-videos/lrwp9a.mpg"


@pytest.fixture(scope="module")
def holder(shared_data: Path) -> dict[str, bytes]:
    """A clip and a passport rendered with a frame of the same person as its portrait."""
    clip = shared_data / CLIP
    face = read_frames(clip, limit=40)[35]
    document = render_document(np.random.default_rng(11), today=date(2026, 11, 29), kind="TD3", face=face)
    return {"video": clip.read_bytes(), "document": document.jpeg}


def _agree(tenant: Any, token: str) -> None:
    assert tenant.client.post(f"/verify/{token}/notice", json={"agree": True}).status_code == 200


def test_identity_session_combines_the_steps_like_the_identity_route(
    tenant: Any, runtime: Any, holder: dict[str, bytes]
) -> None:
    token = session(tenant, rule_id=plain_rule(tenant), check_mode="document+liveness+compare", extra="kyc-1")
    _agree(tenant, token)
    no_document = tenant.client.post(f"/verify/{token}/submit", json={"video": b64(holder["video"])})
    assert no_document.status_code == 400 and row(runtime, token).attempts == 0
    body = {"video": b64(holder["video"]), "document_image": b64(holder["document"])}
    hosted = tenant.client.post(f"/verify/{token}/submit", json=body)
    assert hosted.status_code == 200, hosted.text
    assert hosted.json()["Result"] == "Success" and hosted.json()["finished"] is True
    signed = tenant.post(
        "/v1/verifications/identity", body
    ).json()  # the same input through the signed route  # the same input through the signed route
    result = tenant.get(f"/v1/sessions/{token}/result").json()
    assert result["state"] == "completed" and result["check_mode"] == "document+liveness+compare"
    stored = result["result"]
    assert stored["Result"] == signed["Result"] == "Success"
    assert stored["kind"] == "identity"
    assert {step: stored["details"][step]["code"] for step in ("document", "liveness", "compare")} == {
        step: signed["steps"][step]["code"] for step in ("document", "liveness", "compare")
    }
    assert abs(stored["sim"] - signed["sim"]) < 0.011


def test_document_session_reads_and_judges_the_document(tenant: Any, holder: dict[str, bytes]) -> None:
    token = session(tenant, check_mode="document")
    _agree(tenant, token)
    hosted = tenant.client.post(f"/verify/{token}/submit", json={"document_image": b64(holder["document"])})
    assert hosted.status_code == 200, hosted.text
    assert hosted.json()["Result"] == "Success" and "fields" not in hosted.json()  # the end user sees no fields
    stored = tenant.get(f"/v1/sessions/{token}/result").json()["result"]
    assert stored["kind"] == "document" and stored["details"]["document"]["code"] == "Success"
    assert stored["details"]["document"]["rule_type"] == "TD3"


def test_a_retried_upload_is_answered_again_not_counted_twice(
    tenant: Any, runtime: Any, holder: dict[str, bytes]
) -> None:
    token = session(tenant, rule_id=plain_rule(tenant))
    _agree(tenant, token)
    bad = tenant.client.post(
        f"/verify/{token}/submit", json={"video": b64(b"not a video" * 20), "attempt_id": "a" * 12}
    )
    assert bad.status_code == 400 and row(runtime, token).attempts == 0  # bad input: no attempt used
    body = {"video": b64(holder["video"]), "attempt_id": "attempt-0001"}
    first = tenant.client.post(f"/verify/{token}/submit", json=body)
    assert first.status_code == 200, first.text
    again = tenant.client.post(f"/verify/{token}/submit", json=body)  # the answer was lost: the page retries
    assert again.status_code == 200 and again.json() == first.json()
    assert row(runtime, token).attempts == 1
    with runtime.transaction() as db:
        billed = db.scalar(
            select(func.count()).where(CallRecord.action == "SubmitSessionVideo", CallRecord.billable.is_(True))
        )
    assert billed == 1
    other = tenant.client.post(f"/verify/{token}/submit", json={**body, "attempt_id": "attempt-0002"})
    assert other.status_code == 403  # a new attempt on a finished session


@pytest.fixture(scope="module")
def card(shared_data: Path) -> Any:
    """A TD1 card of the clip's person as issued: portrait and visual zone on the front, MRZ on the back."""
    face = read_frames(shared_data / CLIP, limit=40)[35]
    return render_two_sided_td1(np.random.default_rng(21), today=date(2026, 11, 29), face=face)


def test_a_td1_card_photographed_on_both_sides_reads_as_one(card: Any, holder: dict[str, bytes]) -> None:
    today = date(2026, 11, 29)
    reader = DocumentReader.default()
    front, back = (reader.read_bytes(side.jpeg, today=today) for side in (card.front, card.back))
    assert front.mrz is None and front.portrait is not None and needs_back(front)
    assert back.mrz is not None and back.portrait is None and needs_back(back)
    assert not needs_back(reader.read_bytes(holder["document"], today=today))  # a passport's photo page
    both = combine(front, back)
    assert both.code == "Success" and both.mrz is not None and both.mrz.valid and both.portrait is not None
    assert both.fields["document_number"] == card.back.fields["document_number"]


def test_identity_session_asks_for_the_back_and_combines_both_sides(
    tenant: Any, runtime: Any, card: Any, holder: dict[str, bytes]
) -> None:
    """The page shows the front to ``/document``, which asks for the back (nothing stored, no
    attempt used); the submit with both sides answers as the identity route does with both."""
    token = session(tenant, rule_id=plain_rule(tenant), check_mode="document+liveness+compare")
    before = tenant.client.post(f"/verify/{token}/document", json={"document_image": b64(card.front.jpeg)})
    assert before.status_code == 403  # the notice first
    _agree(tenant, token)
    front = tenant.client.post(f"/verify/{token}/document", json={"document_image": b64(card.front.jpeg)})
    assert front.status_code == 200 and front.json() == {"code": "Success", "needs_back": True}, front.text
    passport = tenant.client.post(f"/verify/{token}/document", json={"document_image": b64(holder["document"])})
    assert passport.json() == {"code": "Success", "needs_back": False}
    assert row(runtime, token).attempts == 0
    body = {
        "video": b64(holder["video"]),
        "document_image": b64(card.front.jpeg),
        "document_back_image": b64(card.back.jpeg),
    }
    hosted = tenant.client.post(f"/verify/{token}/submit", json=body)
    assert hosted.status_code == 200 and hosted.json()["Result"] == "Success", hosted.text
    signed = tenant.post("/v1/verifications/identity", body).json()
    front_only = tenant.post("/v1/verifications/identity", {**body, "document_back_image": None}).json()
    assert front_only["steps"]["document"]["code"] != "Success"  # the front alone has no MRZ to trust
    stored = tenant.get(f"/v1/sessions/{token}/result").json()["result"]
    assert stored["Result"] == signed["Result"] == "Success"
    assert stored["details"]["document"]["sides"] == signed["steps"]["document"]["sides"] == 2
    assert stored["details"]["document"]["rule_type"] == "TD1"
    assert stored["identification"]["document_number"] == card.back.fields["document_number"]
