"""A real server under 8 concurrent clients answers as it answers one client, and a 200 is durable.

Black-box: a subprocess ``openkyc serve``, signed HTTP, and the database read directly. Each
concurrent answer is compared with the single-client answer for the same input; stored templates
are recomputed from the photos they were enrolled with (the same photo gives the same template
under the same key), so one person's template stored under another's name is caught.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from server_data import compare_pairs, face_photos, first_frame_jpeg, grid_videos
from server_harness import Answer, LiveServer, SignedClient, b64, identity_check

pytestmark = pytest.mark.slow

CLIENTS = 8
T = TypeVar("T")


def at_once(
    call: Callable[[T], Answer], items: Sequence[T], *, clients: int = CLIENTS, barrier: bool = False
) -> list[Answer]:
    """``call`` on every item from ``clients`` threads; with ``barrier`` the first ``clients`` calls start together."""
    first = min(clients, len(items))
    gate = threading.Barrier(first) if barrier else None

    def run(indexed: tuple[int, T]) -> Answer:
        index, item = indexed
        if gate is not None and index < first:
            gate.wait(timeout=60)
        return call(item)

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(run, enumerate(items)))


def new_collection(server: LiveServer, name: str) -> str:
    answer = server.client.post("/v1/collections", {"name": name})
    assert answer.status == 200, answer.body
    return str(answer.body["collection_id"])


@pytest.fixture(scope="module")
def photos(shared_data: Path) -> dict[str, bytes]:
    return face_photos(shared_data)


def test_concurrent_compares_answer_as_one_client(live_server: LiveServer, shared_data: Path) -> None:
    payloads = [{"image_a": b64(a), "image_b": b64(b)} for a, b in compare_pairs(shared_data, 32)]
    alone = [live_server.client.post("/v1/faces/compare", p) for p in payloads]
    assert all(a.status < 500 for a in alone), [a.summary() for a in alone]
    assert sum(a.status == 200 for a in alone) >= 24, [a.summary() for a in alone]

    order = list(range(len(payloads)))
    random.Random(9).shuffle(order)
    together = at_once(lambda i: live_server.client.post("/v1/faces/compare", payloads[i]), order)

    differences = []
    for i, answer in zip(order, together, strict=True):
        single = alone[i]
        if (answer.status, answer.code) != (single.status, single.code):
            differences.append(f"pair {i}: {answer.summary()} at {CLIENTS} clients, {single.summary()} alone")
        elif answer.status == 200 and (
            abs(answer.body["sim"] - single.body["sim"]) > 0.01 or answer.body["match"] != single.body["match"]
        ):
            differences.append(f"pair {i}: sim {answer.body['sim']} at {CLIENTS} clients, {single.body['sim']} alone")
    assert not differences, f"{len(differences)} of {len(order)} answers differ:\n" + "\n".join(differences[:15])


def test_concurrent_enrolments_store_each_persons_own_template(
    live_server: LiveServer, photos: dict[str, bytes]
) -> None:
    client = live_server.client
    alone_collection, together_collection = new_collection(live_server, "alone"), new_collection(live_server, "many")

    def enrol(collection_id: str, name: str) -> Answer:
        return client.post(
            f"/v1/collections/{collection_id}/subjects", {"subject_id": name, "image": b64(photos[name])}
        )

    alone = {name: enrol(alone_collection, name) for name in photos}
    assert all(a.status == 200 for a in alone.values()), {n: a.summary() for n, a in alone.items()}
    names = list(photos)
    together = dict(zip(names, at_once(lambda name: enrol(together_collection, name), names), strict=True))
    differing = {n: a.summary() for n, a in together.items() if (a.status, a.code) != (alone[n].status, alone[n].code)}
    assert not differing, f"enrolment answers at {CLIENTS} clients that differ from one client's: {differing}"

    report = identity_check(
        live_server.process, live_server.credential.app_id, together_collection, photos, {n: n for n in photos}
    )
    assert report.checked == len(photos) and not report.missing, report.as_dict()
    assert not report.mismatches, f"stored templates not made from their own photo: {report.as_dict()}"

    def search(name: str) -> Answer:
        return client.post(f"/v1/collections/{together_collection}/search", {"image": b64(photos[name]), "top_k": 3})

    found = dict(zip(names, at_once(search, names), strict=True))
    wrong = {
        n: a.summary() if a.status != 200 else [m["subject_id"] for m in a.body["matches"]]
        for n, a in found.items()
        if a.status != 200 or not a.body["matches"] or a.body["matches"][0]["subject_id"] != n
    }
    assert not wrong, f"searches at {CLIENTS} clients whose first match is not the photo's own subject: {wrong}"


def test_the_same_subject_enrolled_twice_at_once_is_stored_once(
    live_server: LiveServer, photos: dict[str, bytes]
) -> None:
    collection_id = new_collection(live_server, "twice")
    subject_ids = [f"twin-{i}" for i in range(4)]
    items = [(sid, photos[f"p{7 + i:02d}"]) for i, sid in enumerate(subject_ids) for _ in range(2)]
    answers = at_once(
        lambda item: live_server.client.post(
            f"/v1/collections/{collection_id}/subjects", {"subject_id": item[0], "image": b64(item[1])}
        ),
        items,
        barrier=True,
    )
    problems = []
    for sid in subject_ids:
        got = [a for (s, _), a in zip(items, answers, strict=True) if s == sid]
        ok = [a for a in got if a.status == 200]
        refused = [a for a in got if 400 <= a.status < 500 and "SubjectExists" in (a.code or "")]
        if len(ok) != 1 or len(refused) != 1:
            problems.append(f"{sid}: {[a.summary() for a in got]}")
        stored = live_server.db.subject_count(collection_id, sid)
        if stored != 1:
            problems.append(f"{sid}: {stored} rows stored")
    assert not problems, "expected one 200 and one 4xx SubjectExists per subject:\n" + "\n".join(problems)


def test_concurrent_liveness_answers_as_one_client(live_server: LiveServer, shared_data: Path) -> None:
    videos = grid_videos(shared_data, CLIENTS)
    payloads = {name: {"video": b64(data), "mode": "silent"} for name, data in videos.items()}
    alone = {name: live_server.client.post("/v1/liveness", p) for name, p in payloads.items()}
    assert all(a.status == 200 for a in alone.values()), {n: a.summary() for n, a in alone.items()}

    names = list(payloads)
    together = at_once(lambda name: live_server.client.post("/v1/liveness", payloads[name]), names, barrier=True)

    def view(answer: Answer) -> tuple[Any, ...]:
        return (answer.status, answer.code, answer.body.get("live"), answer.body.get("Result"))

    differences = []
    for name, answer in zip(names, together, strict=True):
        single = alone[name]
        if view(answer) != view(single) or abs(answer.body["score"] - single.body["score"]) > 0.011:
            differences.append(
                f"{name}: {view(answer)} score {answer.body.get('score')} together, "
                f"{view(single)} score {single.body.get('score')} alone"
            )
    assert not differences, "liveness answers that differ at 8 clients:\n" + "\n".join(differences)


def test_concurrent_ocr_and_selfie_verifications_answer_as_one_client(
    live_server: LiveServer, shared_data: Path
) -> None:
    """Document OCR and selfie verification (liveness + compare) mixed at 8 clients: each answer is the
    single-client answer (same fields and MRZ verdict; same Result, liveness and ``sim``)."""
    folder = shared_data / "mrz-specimens"
    requests: list[tuple[str, str, dict[str, Any]]] = [
        (name, "/v1/documents/ocr", {"image": b64((folder / name).read_bytes())})
        for name in ("td1.jpg", "td2.jpg", "td3.jpg", "mrva.jpg")
    ]
    clips = sorted((shared_data / "grid-talking-face-videos").glob("*.mpg"))[:4]
    requests += [
        (
            clip.name,
            "/v1/verifications/selfie",
            {"video": b64(clip.read_bytes()), "image": b64(first_frame_jpeg(clip)), "mode": "silent"},
        )
        for clip in clips
    ]
    alone = {name: live_server.client.post(path, body) for name, path, body in requests}
    assert all(a.status == 200 for a in alone.values()), {n: a.summary() for n, a in alone.items()}

    together = at_once(lambda request: live_server.client.post(request[1], request[2]), requests, barrier=True)

    def view(answer: Answer) -> tuple[Any, ...]:
        body = answer.body
        mrz = body.get("mrz") or {}
        return (answer.status, body.get("Result"), body.get("fields"), mrz.get("valid"), body.get("live"))

    differences = []
    for (name, _, _), answer in zip(requests, together, strict=True):
        single = alone[name]
        sims = (answer.body.get("sim"), single.body.get("sim"))
        if view(answer) != view(single) or (None not in sims and abs(sims[0] - sims[1]) > 0.011):
            differences.append(
                f"{name}: {view(answer)} ({answer.summary()}) sim {sims[0]} together, {view(single)} sim {sims[1]} alone"
            )
    assert not differences, "answers that differ at 8 clients:\n" + "\n".join(differences)
    assert sum(1 for a in together if a.body.get("Result") == "Success") >= 4  # the checks really passed


def test_a_one_attempt_session_processes_one_of_eight_concurrent_submits(
    live_server: LiveServer, shared_data: Path
) -> None:
    client = live_server.client
    rule = client.post(
        "/v1/rules", {"name": "one-attempt", "config": {"security": {"max_retries": 0}, "hosted": {"challenge": False}}}
    )
    assert rule.status == 200, rule.body
    created = client.post(
        "/v1/sessions", {"redirect_url": "https://shop.example/done", "rule_id": rule.body["rule_id"]}
    )
    assert created.status == 200, created.body
    token = created.body["biz_token"]
    video = b64(next(iter(grid_videos(shared_data, 1).values())))
    agreed = client.post(f"/verify/{token}/notice", {"agree": True}, signed=False)
    assert agreed.status == 200, agreed.body

    answers = at_once(
        lambda _: client.post(f"/verify/{token}/submit", {"video": video}, signed=False), range(CLIENTS), barrier=True
    )
    processed = [a for a in answers if a.status == 200]
    refused = [a for a in answers if 400 <= a.status < 500 and "SessionFinished" in (a.code or "")]
    assert len(processed) == 1 and len(refused) == CLIENTS - 1, [a.summary() for a in answers]
    result = client.get(f"/v1/sessions/{token}/result")
    assert result.status == 200, result.body
    assert result.body["attempts"] == 1 and result.body["state"] == "completed", result.body


def test_concurrent_rule_updates_give_unique_versions(live_server: LiveServer) -> None:
    client = live_server.client
    rule = client.post("/v1/rules", {"name": "edited", "config": {}})
    assert rule.status == 200, rule.body
    rule_id, first = rule.body["rule_id"], rule.body["version"]
    thresholds = [60.0 + i for i in range(24)]
    answers = at_once(
        lambda t: client.put(f"/v1/rules/{rule_id}", {"name": "edited", "config": {"compare_threshold": t}}),
        thresholds,
        barrier=True,
    )
    assert all(a.status == 200 or 400 <= a.status < 500 for a in answers), [a.summary() for a in answers]
    accepted = [a for a in answers if a.status == 200]
    versions = [a.body["version"] for a in accepted]
    assert len(set(versions)) == len(versions), f"two acknowledged updates share a version: {sorted(versions)}"
    final = client.get(f"/v1/rules/{rule_id}")
    assert final.body["version"] == first + len(accepted), (final.body["version"], first, len(accepted))
    history = [c["version"] for c in client.get(f"/v1/rules/{rule_id}/history").body["changes"]]
    duplicates = [v for v, n in Counter(history).items() if n > 1]
    assert not duplicates, f"duplicate versions in the rule's history: {duplicates}"


def test_first_use_by_concurrent_requests_creates_one_template_key(
    live_server: LiveServer, photos: dict[str, bytes]
) -> None:
    credential = live_server.process.create_app("first-use", live_server.credential.account_id)
    client = SignedClient(live_server.process, credential)
    payload = {"image_a": b64(photos["p07"]), "image_b": b64(photos["p08"])}
    try:
        answers = at_once(lambda _: client.post("/v1/faces/compare", payload), range(CLIENTS), barrier=True)
    finally:
        client.close()
    assert all(a.status == 200 for a in answers), [a.summary() for a in answers]
    keys = live_server.db.template_keys(credential.app_id)
    assert len(keys) == 1, f"{len(keys)} template keys for one app after concurrent first use"


def test_every_acknowledged_enrolment_is_committed_when_the_200_arrives(
    live_server: LiveServer, photos: dict[str, bytes]
) -> None:
    """Freeze the server (SIGSTOP) the moment a 200 arrives and read the database."""
    collection_id = new_collection(live_server, "durable")
    names = list(photos)
    uncommitted = []
    for i in range(40):
        subject_id = f"ack-{i:02d}"
        answer = live_server.client.post(
            f"/v1/collections/{collection_id}/subjects",
            {"subject_id": subject_id, "image": b64(photos[names[i % len(names)]])},
        )
        assert answer.status == 200, answer.summary()
        with live_server.process.frozen():
            stored = live_server.db.subject_count(collection_id, subject_id)
        if stored != 1:
            uncommitted.append(subject_id)
    assert not uncommitted, (
        f"{len(uncommitted)} of 40 enrolments were answered 200 before their row was committed: {uncommitted}"
    )
