"""Timed challenges against a real server: concurrent issues, single use under a burst, and challenge
checks at 8 clients answering as they answer one client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from server_data import grid_videos
from server_harness import Answer, LiveServer, b64
from sqlalchemy import select, update
from test_concurrency import CLIENTS, at_once

from openkyc.store.models.liveness import LivenessChallengeRow

pytestmark = pytest.mark.slow


def _schedule(action: str, prompt_ms: int) -> dict[str, Any]:
    window = {"prompt_ms": prompt_ms, "window_start_ms": prompt_ms + 150, "window_end_ms": prompt_ms + 1650}
    return {"actions": [{"action": action, **window}], "colors": None, "record_ms": 2800}


def _set_schedule(server: LiveServer, challenge_id: str, schedule: dict[str, Any]) -> None:
    with server.db.engine.begin() as connection:
        done = connection.execute(
            update(LivenessChallengeRow).where(LivenessChallengeRow.id == challenge_id).values(schedule=schedule)
        )
        assert done.rowcount == 1


def _issue(server: LiveServer) -> str:
    answer = server.client.post("/v1/liveness/challenges", {})
    assert answer.status == 200, answer.body
    return str(answer.body["challenge_id"])


def test_concurrent_issues_are_all_stored_and_distinct(live_server: LiveServer) -> None:
    answers = at_once(lambda i: live_server.client.post("/v1/liveness/challenges", {"reflection": i % 2 == 0}),
                      range(4 * CLIENTS), barrier=True)  # fmt: skip
    assert all(a.status == 200 for a in answers), [a.summary() for a in answers]
    ids = [a.body["challenge_id"] for a in answers]
    assert len(set(ids)) == len(ids)
    with live_server.db.engine.connect() as connection:
        rows = {
            r.id: r for r in connection.execute(select(LivenessChallengeRow).where(LivenessChallengeRow.id.in_(ids)))
        }
    assert set(rows) == set(ids)  # a 200 means committed
    for answer in answers:
        row = rows[answer.body["challenge_id"]]
        assert row.schedule == answer.body["schedule"] and row.used_at is None


def test_one_challenge_sent_by_eight_clients_is_used_once(live_server: LiveServer, shared_data: Path) -> None:
    video = b64(next(iter(grid_videos(shared_data, 1).values())))
    challenge_id = _issue(live_server)
    answers = at_once(
        lambda _: live_server.client.post("/v1/liveness", {"video": video, "challenge_id": challenge_id}),
        range(CLIENTS),
        barrier=True,
    )
    processed = [a for a in answers if a.status == 200]
    refused = [a for a in answers if a.status == 400 and a.code == "InvalidParameterValue.LivenessChallengeUsed"]
    assert len(processed) == 1 and len(refused) == CLIENTS - 1, [a.summary() for a in answers]


def test_concurrent_challenge_checks_answer_as_one_client(live_server: LiveServer, shared_data: Path) -> None:
    videos = grid_videos(shared_data, CLIENTS)
    # per clip a schedule asking for the mouth to open from the start (GRID speakers start talking in
    # the first half second) or for a nod (none of them nods): some pass, some fail
    plans = {name: _schedule("mouth" if i % 2 == 0 else "nod", 0) for i, name in enumerate(videos)}

    def check(name: str) -> Answer:
        challenge_id = _issue(live_server)
        _set_schedule(live_server, challenge_id, plans[name])
        return live_server.client.post("/v1/liveness", {"video": b64(videos[name]), "challenge_id": challenge_id})

    alone = {name: check(name) for name in videos}
    assert all(a.status == 200 for a in alone.values()), {n: a.summary() for n, a in alone.items()}
    names = list(videos)
    together = at_once(check, names, barrier=False)

    def view(answer: Answer) -> tuple[Any, ...]:
        body = answer.body
        challenge = (body.get("evidence") or {}).get("challenge") or {}
        onsets = [a.get("onset_ms") for a in challenge.get("actions", [])]
        return answer.status, body.get("Result"), body.get("live"), body.get("score"), onsets

    differences = [
        f"{name}: {view(answer)} ({answer.summary()}) together, {view(alone[name])} alone"
        for name, answer in zip(names, together, strict=True)
        if view(answer) != view(alone[name])
    ]
    assert not differences, "challenge answers that differ at 8 clients:\n" + "\n".join(differences)
    results = [a.body["Result"] for a in together]
    assert "Success" in results and "FailedOperation.ActionNodHead" in results, results
