"""The hosted page's calls on a real server under 8 concurrent clients: notice answers (agree and
decline) answer as one client does, one session's notice is answered consistently, 8 looks at a
document side answer as one client's, and 8 uploads of one attempt (a page retrying on a bad
connection) are processed once and answered alike."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from server_data import grid_videos, mrz_specimen
from server_harness import Answer, LiveServer, b64

pytestmark = pytest.mark.slow

CLIENTS = 8


def together(calls: list[Any]) -> list[Answer]:
    gate = threading.Barrier(len(calls))

    def run(call: Any) -> Answer:
        gate.wait(timeout=60)
        answer: Answer = call()
        return answer

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def new_session(server: LiveServer, **fields: Any) -> str:
    created = server.client.post("/v1/sessions", {"redirect_url": "https://shop.example/done", **fields})
    assert created.status == 200, created.body
    return str(created.body["biz_token"])


def _view(answer: Answer, token: str) -> tuple[int, Any]:
    body = dict(answer.body)
    body.pop("consent_id", None)  # a new row per session
    if body.get("redirect_url"):
        body["redirect_url"] = body["redirect_url"].replace(token, "TOKEN")
    return answer.status, body


def test_concurrent_notice_answers_match_one_client(live_server: LiveServer) -> None:
    client = live_server.client
    choices = [i % 2 == 0 for i in range(2 * CLIENTS)]
    alone = {}
    for agree in (True, False):
        token = new_session(live_server)
        alone[agree] = _view(client.post(f"/verify/{token}/notice", {"agree": agree}, signed=False), token)
    tokens = [new_session(live_server) for _ in choices]
    answers = together(
        [
            lambda t=t, a=a: client.post(f"/verify/{t}/notice", {"agree": a}, signed=False)
            for t, a in zip(tokens, choices, strict=True)
        ]
    )
    for token, agree, answer in zip(tokens, choices, answers, strict=True):
        assert _view(answer, token) == alone[agree], answer.summary()
        result = client.get(f"/v1/sessions/{token}/result")
        assert (result.body["state"], result.body["consented"]) == (("created", True) if agree else ("declined", False))


def test_one_sessions_notice_answered_at_once(live_server: LiveServer) -> None:
    client = live_server.client
    agreeing = new_session(live_server)
    agreed = together([lambda: client.post(f"/verify/{agreeing}/notice", {"agree": True}, signed=False)] * CLIENTS)
    assert all(a.status == 200 for a in agreed), [a.summary() for a in agreed]
    assert len({a.body["text_version"] for a in agreed}) == 1
    assert client.get(f"/v1/sessions/{agreeing}/result").body["consented"] is True

    declining = new_session(live_server)
    declined = together([lambda: client.post(f"/verify/{declining}/notice", {"agree": False}, signed=False)] * CLIENTS)
    done = [a for a in declined if a.status == 200]
    refused = [a for a in declined if a.status == 403 and a.code == "UnauthorizedOperation.SessionFinished"]
    assert len(done) == 1 and len(refused) == CLIENTS - 1, [a.summary() for a in declined]
    assert client.get(f"/v1/sessions/{declining}/result").body["state"] == "declined"


def test_eight_uploads_of_one_attempt_are_processed_once(live_server: LiveServer, shared_data: Path) -> None:
    client = live_server.client
    plain = client.post("/v1/rules", {"name": "plain", "config": {"hosted": {"challenge": False}}})  # a recorded clip
    token = new_session(live_server, rule_id=plain.body["rule_id"])
    assert client.post(f"/verify/{token}/notice", {"agree": True}, signed=False).status == 200
    video = b64(next(iter(grid_videos(shared_data, 1).values())))
    body = {"video": video, "attempt_id": "page-attempt-1"}
    answers = together([lambda: client.post(f"/verify/{token}/submit", body, signed=False)] * CLIENTS)
    answered = [a for a in answers if a.status == 200]
    busy = [a for a in answers if a.status == 409 and a.code == "ResourceInUse.Attempt"]
    assert answered and len(answered) + len(busy) == CLIENTS, [a.summary() for a in answers]
    assert all(a.body == answered[0].body for a in answered)
    retried = client.post(f"/verify/{token}/submit", body, signed=False)  # the page's retry after a 409
    assert retried.status == 200 and retried.body == answered[0].body
    result = client.get(f"/v1/sessions/{token}/result")
    assert result.body["attempts"] == 1 and result.body["state"] == "completed", result.body
    assert result.body["result"]["Result"] == answered[0].body["Result"] == "Success"


def test_concurrent_document_checks_answer_as_one_client(live_server: LiveServer, shared_data: Path) -> None:
    """The page's look at a document side (``/document``, OCR) from 8 clients at once: each
    answers as one client alone does, and no attempt is used."""
    client = live_server.client
    token = new_session(live_server, check_mode="document")
    assert client.post(f"/verify/{token}/notice", {"agree": True}, signed=False).status == 200
    body = {"document_image": b64(mrz_specimen(shared_data))}
    alone = client.post(f"/verify/{token}/document", body, signed=False)
    assert alone.status == 200 and alone.body == {"code": "Success", "needs_back": False}, alone.summary()
    answers = together([lambda: client.post(f"/verify/{token}/document", body, signed=False)] * CLIENTS)
    assert all((a.status, a.body) == (alone.status, alone.body) for a in answers), [a.summary() for a in answers]
    assert client.get(f"/v1/sessions/{token}/result").body["attempts"] == 0
