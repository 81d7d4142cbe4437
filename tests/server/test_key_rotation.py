"""Rotating keys with the CLI while a real ``openkyc serve`` answers requests: 0 errors.

The server runs with a master key file (as ``openkyc init`` makes it), so that ``keys rotate-master``
can rotate it. While client threads compare, enrol and search without pause, another process runs
``keys rotate-data``, ``keys rotate-template``, ``keys rotate-master``, ``keys rotate-data`` and
``keys rotate-template`` again, and issues a new credential (sealed under the newest data key) that
must sign requests at once. Before the running process followed rotations, every compare and
enrolment of the app answered 500 ``InternalError.DecryptionFailed`` after the first two commands.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from server_data import face_photos
from server_harness import Answer, Credential, ServerProcess, SignedClient, b64, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.db]

CLIENTS = 3


@dataclass
class KeyFileServer(ServerProcess):
    """The harness's server, with its master key in ``DATA_DIR/master.key`` instead of the environment."""

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.pop("OPENKYC_MASTER_KEY")
        return env

    def cli(self, *args: str) -> dict[str, object]:
        done = run_cli(self.env, *args, "--data-dir", str(self.data_dir), "--json")
        assert done.returncode == 0, f"openkyc {' '.join(args)}: {done.stdout} {done.stderr[-2000:]}"
        return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def server(server_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyFileServer]:
    process = KeyFileServer(data_dir=tmp_path_factory.mktemp("keys") / "data", database_url=server_database_url)
    try:
        yield process
    finally:
        process.stop()


def test_rotations_while_serving_never_fail_a_request(server: KeyFileServer, shared_data: Path) -> None:
    credential = server.init()
    assert (server.data_dir / "master.key").exists()
    server.start()
    started = server.log_tail()
    assert f"listening on http://127.0.0.1:{server.port}" in started
    assert f"curl http://127.0.0.1:{server.port}/v1/health" in started  # how to call it
    client = SignedClient(server, credential)
    photos = list(face_photos(shared_data).values())[:6]
    collection = client.post("/v1/collections", {"name": "rotating"})
    assert collection.status == 200, collection.body
    collection_id = collection.body["collection_id"]
    for index, photo in enumerate(photos[:3]):
        enrolled = client.post(
            f"/v1/collections/{collection_id}/subjects",
            {"subject_id": f"s{index}", "image": b64(photo), "retain_image": True},
        )
        assert enrolled.status == 200, enrolled.body

    answers: list[tuple[str, Answer]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            a, b = photos[n % len(photos)], photos[(n + worker) % len(photos)]
            calls = [
                ("compare", "/v1/faces/compare", {"image_a": b64(a), "image_b": b64(b)}),
                ("search", f"/v1/collections/{collection_id}/search", {"image": b64(a), "top_k": 3}),
                (
                    "enrol",
                    f"/v1/collections/{collection_id}/subjects",
                    {"subject_id": f"w{worker}-{n}", "image": b64(b), "retain_image": True},
                ),
            ]
            for name, path, payload in calls:
                answer = client.post(path, payload)
                with lock:
                    answers.append((name, answer))

    threads = [threading.Thread(target=load, args=(worker,), daemon=True) for worker in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        app = str(credential.app_id)
        steps = [
            server.cli("keys", "rotate-data"),
            server.cli("keys", "rotate-template", "--app-id", app),
            server.cli("keys", "rotate-master"),
            server.cli("keys", "rotate-data"),
            server.cli("keys", "rotate-template", "--app-id", app),
        ]
        issued = server.cli("credentials", "create", "--app-id", app)  # sealed under the newest data key
        time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
    server.raise_if_died("after the rotations")
    assert steps[1]["reissued"] >= 3 and steps[4]["reissued"] >= 3

    failures = [f"{name}: {answer.summary()}" for name, answer in answers if answer.status != 200]
    counts = Counter(name for name, _ in answers)
    assert failures == [], f"{len(failures)} of {len(answers)} calls failed: {Counter(failures).most_common(5)}"
    assert min(counts.values()) >= 5, counts  # the load really ran through the rotations

    fresh = SignedClient(
        server, Credential(credential.account_id, credential.app_id, issued["secret_id"], issued["secret_key"])
    )  # type: ignore[arg-type]
    try:
        after = fresh.post("/v1/faces/compare", {"image_a": b64(photos[0]), "image_b": b64(photos[0])})
        assert after.status == 200 and after.body["match"] is True, after.body
        found = fresh.post(f"/v1/collections/{collection_id}/search", {"image": b64(photos[1]), "top_k": 100})
        assert found.status == 200, found.body
        # the load enrolled the same photo under other ids too: "s1" is among the equal best matches
        best = found.body["matches"][0]["sim"]
        assert any(m["subject_id"] == "s1" and m["sim"] == best for m in found.body["matches"]), found.body
    finally:
        fresh.close()
        client.close()
