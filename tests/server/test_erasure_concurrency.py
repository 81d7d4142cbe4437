"""Erasure against a real server under concurrent clients: receipts count what each erasure removed,
and enrolments, searches, deletions and erasures at once leave exactly what their 200s promised.

The receipt of an erasure is what a customer hands on to the person who asked (GDPR Art. 17): a row
removed once must be counted once, however many clients asked at the same moment. The stored data
afterwards is checked by listing, searching every photo and recomputing each stored template from
its own photo (``identity_check``).
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from server_data import face_photos
from server_harness import Answer, LiveServer, b64, identity_check
from test_concurrency import CLIENTS, at_once, new_collection

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def photos(shared_data: Path) -> dict[str, bytes]:
    return face_photos(shared_data)


def _items(answer: Answer) -> Counter[str]:
    assert answer.status == 200, answer.summary()
    return Counter({k: v for k, v in answer.body["items"].items() if v})


def test_one_subject_erased_by_eight_clients_at_once_is_counted_once(
    live_server: LiveServer, photos: dict[str, bytes]
) -> None:
    client = live_server.client
    subject_id = "erased-at-once"
    collections = [new_collection(live_server, f"erase-once-{i}") for i in range(2)]
    for collection_id in collections:
        enrolled = client.post(
            f"/v1/collections/{collection_id}/subjects", {"subject_id": subject_id, "image": b64(photos["p05"])}
        )
        assert enrolled.status == 200, enrolled.summary()
    consent = client.post("/v1/privacy/consents", {"subject_id": subject_id, "text_version": "v1"})
    assert consent.status == 200, consent.summary()

    answers = at_once(
        lambda _: client.post(f"/v1/privacy/subjects/{subject_id}/erase", {}), range(CLIENTS), barrier=True
    )
    assert all(a.status == 200 for a in answers), [a.summary() for a in answers]
    total = sum((_items(a) for a in answers), Counter())
    # what one erasure alone reports (the same data, erased once); the rest found nothing left
    expected = Counter({"subjects": 2, "index_entries": 2, "consents": 1, "subject_keys_destroyed": 1})
    assert total == expected, (
        f"{CLIENTS} concurrent erasures of one subject report {dict(total)} removed in all, "
        f"not {dict(expected)}: {[dict(_items(a)) for a in answers]}"
    )
    again = client.post(f"/v1/privacy/subjects/{subject_id}/erase", {})
    assert _items(again) == Counter(), again.body
    for collection_id in collections:
        assert live_server.db.subject_count(collection_id, subject_id) == 0


def test_enrolments_searches_deletions_and_erasures_at_once_leave_what_the_200s_promised(
    live_server: LiveServer, photos: dict[str, bytes]
) -> None:
    client = live_server.client
    collection_id = new_collection(live_server, "mixed")
    names = list(photos)
    present, arriving = names[:12], names[12:]
    erased, deleted, kept = present[:4], present[4:6], present[6:]
    for name in present:
        answer = client.post(
            f"/v1/collections/{collection_id}/subjects", {"subject_id": name, "image": b64(photos[name])}
        )
        assert answer.status == 200, answer.summary()

    work = (
        [("enrol", n) for n in arriving]
        + [("search", n) for n in kept] * 2
        + [("search", n) for n in erased + deleted]
        + [("erase", n) for n in erased]
        + [("delete", n) for n in deleted]
    )
    random.Random(5).shuffle(work)

    def run(item: tuple[str, str]) -> Answer:
        kind, name = item
        if kind == "enrol":
            return client.post(
                f"/v1/collections/{collection_id}/subjects", {"subject_id": name, "image": b64(photos[name])}
            )
        if kind == "search":
            return client.post(f"/v1/collections/{collection_id}/search", {"image": b64(photos[name]), "top_k": 3})
        if kind == "erase":
            return client.post(f"/v1/privacy/subjects/{name}/erase", {})
        return client.request("DELETE", f"/v1/collections/{collection_id}/subjects/{name}")

    answers = at_once(run, work)
    failed = [f"{kind} {name}: {a.summary()}" for (kind, name), a in zip(work, answers, strict=True) if a.status != 200]
    assert not failed, f"{len(failed)} of {len(work)} calls at {CLIENTS} clients were not answered 200:\n" + "\n".join(
        failed
    )
    wrong = [
        f"{name}: {[m['subject_id'] for m in a.body['matches']]}"
        for (kind, name), a in zip(work, answers, strict=True)
        if kind == "search" and name in kept and (not a.body["matches"] or a.body["matches"][0]["subject_id"] != name)
    ]
    assert not wrong, "searches during the mix whose first match is not their own subject:\n" + "\n".join(wrong)
    for (kind, name), a in zip(work, answers, strict=True):
        if kind == "erase":
            assert _items(a)["subjects"] == 1, (name, a.body)

    expected = kept + arriving
    listed = client.get(f"/v1/collections/{collection_id}/subjects?limit=100")
    assert listed.status == 200, listed.summary()
    assert sorted(s["subject_id"] for s in listed.body["subjects"]) == sorted(expected)
    report = identity_check(
        live_server.process,
        live_server.credential.app_id,
        collection_id,
        photos,
        {n: n for n in expected},
        expected=expected,
    )
    assert report.checked == len(expected) and not report.missing, report.as_dict()
    assert not report.mismatches, f"stored templates not made from their own photo: {report.as_dict()}"
    after = at_once(
        lambda n: client.post(f"/v1/collections/{collection_id}/search", {"image": b64(photos[n]), "top_k": 5}), names
    )
    problems = []
    for name, answer in zip(names, after, strict=True):
        found = [m["subject_id"] for m in answer.body.get("matches", [])]
        if name in expected and found[:1] != [name]:
            problems.append(f"{name} (kept): first matches {found[:2]}")
        if name not in expected and name in found:
            problems.append(f"{name} (removed): still found")
    assert not problems, "searches after the mix:\n" + "\n".join(problems)
