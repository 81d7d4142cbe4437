"""``Idempotency-Key`` under concurrent retries against a real server.

A client that times out and retries at once sends the same signed write again while the first is
still running. Eight copies of one enrolment with one key, started together, must enrol the subject
once: every answer is either the stored 200 (the same body as the first) or a 409
``ResourceInUse.IdempotencyKey`` asking to retry, and a later retry replays the first answer.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from server_data import face_photos
from server_harness import Answer, LiveServer, b64
from test_concurrency import CLIENTS, at_once, new_collection

pytestmark = pytest.mark.slow


def test_concurrent_retries_with_one_key_enrol_once_and_replay_the_first_answer(
    live_server: LiveServer, shared_data: Path
) -> None:
    photo = face_photos(shared_data)["p03"]
    collection_id = new_collection(live_server, "idempotent")
    path = f"/v1/collections/{collection_id}/subjects"
    payload = {"subject_id": "retried", "image": b64(photo)}
    key = {"Idempotency-Key": uuid.uuid4().hex}

    def send(_: int) -> Answer:
        return live_server.client.post(path, payload, headers=key)

    answers = at_once(send, list(range(CLIENTS)), barrier=True)
    ok = [a for a in answers if a.status == 200]
    busy = [a for a in answers if a.status == 409]
    assert len(ok) + len(busy) == CLIENTS, [a.summary() for a in answers]
    assert ok, "no copy of the write answered 200"
    assert all(a.code == "ResourceInUse.IdempotencyKey" for a in busy), [a.summary() for a in busy]
    assert all(a.headers.get("retry-after") for a in busy)
    first = ok[0].body
    assert all(a.body == first for a in ok), "copies of one write answered differently"
    assert live_server.db.subject_count(collection_id, "retried") == 1

    replay = live_server.client.post(path, payload, headers=key)
    assert replay.status == 200 and replay.body == first
    assert replay.headers.get("idempotent-replayed") == "true"
    assert live_server.db.subject_count(collection_id, "retried") == 1

    # the same body under a fresh key is a new write: the subject exists now
    again = live_server.client.post(path, payload, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert (again.status, again.code) == (400, "InvalidParameterValue.SubjectExists"), again.summary()
