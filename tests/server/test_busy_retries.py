"""Timed-challenge checks on a real server whose models are scarce on purpose (one instance, a queue
wait of 0.1 s): most of 4 concurrent checks are refused 503 ``ServerBusy`` at first and retried by the
client (as any client does); every retry is checked and answers as the same check sent alone.

This is what an overloaded machine does to ``test_challenge_concurrency.py`` by chance (a wait past
the 30 s queue timeout), made certain: a challenge claimed before the 503 made its retry a
``400 InvalidParameterValue.LivenessChallengeUsed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from server_data import grid_videos
from server_harness import Answer, LiveServer, b64
from test_challenge_concurrency import _issue, _schedule, _set_schedule
from test_concurrency import at_once

pytestmark = pytest.mark.slow

CHECKS = 4


@pytest.fixture(scope="module")
def server_pool(server_pool: Any) -> Any:
    """The folder's server, started with one model instance and a 0.1 s queue timeout."""
    server_pool.process.extra_env.update({"OPENKYC_MODEL_POOL_SIZE": "1", "OPENKYC_MODEL_QUEUE_TIMEOUT_SECONDS": "0.1"})
    return server_pool


def test_retried_busy_challenge_checks_answer_as_one_client(live_server: LiveServer, shared_data: Path) -> None:
    videos = grid_videos(shared_data, CHECKS)
    plans = {name: _schedule("mouth" if i % 2 == 0 else "nod", 0) for i, name in enumerate(videos)}

    def check(name: str) -> Answer:
        challenge_id = _issue(live_server)
        _set_schedule(live_server, challenge_id, plans[name])
        return live_server.client.post("/v1/liveness", {"video": b64(videos[name]), "challenge_id": challenge_id})

    alone = {name: check(name) for name in videos}
    assert all(a.status == 200 for a in alone.values()), {n: a.summary() for n, a in alone.items()}
    names = list(videos)
    together = at_once(check, names, clients=CHECKS, barrier=True)
    assert sum(a.retries for a in together) > 0, "no check was refused busy: the retry path was not exercised"

    def view(answer: Answer) -> tuple[Any, ...]:
        return answer.status, answer.code, answer.body.get("Result"), answer.body.get("live")

    differences = [
        f"{name}: {answer.summary()} {view(answer)} together, {view(alone[name])} alone"
        for name, answer in zip(names, together, strict=True)
        if view(answer) != view(alone[name])
    ]
    assert not differences, "retried challenge checks that differ from one client's:\n" + "\n".join(differences)
