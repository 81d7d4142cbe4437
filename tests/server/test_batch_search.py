"""Batch 1:N search on a real server: several images in one request, 8 clients at once, each
answer the same as the one-image searches of one client (issue 13)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from server_data import face_photos
from server_harness import Answer, LiveServer, b64

pytestmark = pytest.mark.slow

BATCH = 4
CLIENTS = 8


def test_batch_searches_at_8_clients_answer_as_single_searches(live_server: LiveServer, shared_data: Path) -> None:
    photos = face_photos(shared_data)
    client = live_server.client
    created = client.post("/v1/collections", {"name": "batch-search"})
    assert created.status == 200, created.summary()
    collection_id = created.body["collection_id"]
    names = sorted(photos)
    enrolled = names[::2]  # half enrolled: the other half are searched as strangers
    for name in enrolled:
        answer = client.post(
            f"/v1/collections/{collection_id}/subjects", {"subject_id": name, "image": b64(photos[name])}
        )
        assert answer.status == 200, answer.summary()
    url = f"/v1/collections/{collection_id}/search"
    alone = {n: client.post(url, {"image": b64(photos[n]), "top_k": 3}) for n in names}
    assert all(a.status == 200 for a in alone.values()), {n: a.summary() for n, a in alone.items()}
    for name in enrolled:  # an enrolled photo finds itself first
        assert alone[name].body["matches"][0]["subject_id"] == name

    order = names[:]
    random.Random(13).shuffle(order)
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)] * 2

    def search(batch: list[str]) -> Answer:
        return client.post(url, {"images": [b64(photos[n]) for n in batch], "top_k": 3})

    with ThreadPoolExecutor(CLIENTS) as pool:
        together = list(pool.map(search, batches))
    differences = []
    for batch, answer in zip(batches, together, strict=True):
        if answer.status != 200:
            differences.append(f"{batch}: {answer.summary()}")
            continue
        assert len(answer.body["results"]) == len(batch)
        for name, result in zip(batch, answer.body["results"], strict=True):
            if result["matches"] != alone[name].body["matches"]:
                differences.append(f"{name}: {result['matches']} in a batch, {alone[name].body['matches']} alone")
    assert not differences, f"{len(differences)} batch answers differ:\n" + "\n".join(differences[:10])

    both = client.post(url, {"image": b64(photos[names[0]]), "images": [b64(photos[names[0]])]})
    assert (both.status, both.code) == (400, "InvalidParameter.ImageOrImages")
    too_many = client.post(url, {"images": [b64(photos[names[0]])] * 17})
    assert too_many.status == 400 and too_many.status < 500
