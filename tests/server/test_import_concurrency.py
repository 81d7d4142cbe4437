"""``openkyc import`` into a collection that a running server enrols into at the same time: the
duplicate check holds across both (one face stored once), and the server's index picks the
imported subjects up."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
from server_harness import Answer, LiveServer, b64, openkyc_command
from test_concurrency import at_once

pytestmark = pytest.mark.slow

PEOPLE = {  # one photo each of eleven different people
    "alex": "facerec-examples/identities/alex_lacamoire/img1.jpg",
    "biden": "facerec-examples/identities/biden/biden.jpg",
    "kit": "facerec-examples/identities/kit_harington/john1.jpeg",
    "lin": "facerec-examples/identities/lin_manuel_miranda/lin-manuel-miranda.png",
    "obama": "facerec-examples/identities/obama/obama.jpg",
    "rose": "facerec-examples/identities/rose_leslie/img1.jpg",
    "salley": "dlib-johns/John_Salley",
    "savage": "dlib-johns/John_Savage",
    "schneider": "dlib-johns/John_Schneider",
    "shimkus": "dlib-johns/John_Shimkus",
    "simm": "dlib-johns/John_Simm",
}


def _photo(shared: Path, where: str) -> Path:
    path = shared / where
    return sorted(path.glob("*.jpg"))[0] if path.is_dir() else path


def test_an_import_racing_api_enrolments_stores_each_face_once(
    live_server: LiveServer, shared_data: Path, tmp_path: Path
) -> None:
    answer = live_server.client.post("/v1/collections", {"name": "import-race", "duplicate_check": True})
    assert answer.status == 200, answer.body
    collection_id = str(answer.body["collection_id"])
    photos = {name: _photo(shared_data, where) for name, where in PEOPLE.items()}
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, path in photos.items():
        (folder / f"imp-{name}{path.suffix}").write_bytes(path.read_bytes())

    process = live_server.process
    command = openkyc_command(
        "import", str(folder), "--collection", collection_id, "--app-id", str(live_server.credential.app_id),
        "--batch", "3", "--data-dir", str(process.data_dir), "--json",
    )  # fmt: skip
    imported: list[subprocess.CompletedProcess[str]] = []
    importer = threading.Thread(
        target=lambda: imported.append(
            subprocess.run(command, env=process.env, capture_output=True, text=True, timeout=600)
        )
    )
    names = sorted(photos, reverse=True)  # the import goes in name order: the two meet midway

    def enrol(name: str) -> Answer:
        return live_server.client.post(
            f"/v1/collections/{collection_id}/subjects",
            {"subject_id": f"api-{name}", "image": b64(photos[name].read_bytes())},
        )

    importer.start()
    answers = dict(zip(names, at_once(enrol, names, clients=4), strict=True))
    importer.join()
    assert imported and imported[0].returncode == 0, imported[0].stderr[-2000:] if imported else "no import"
    result = json.loads(imported[0].stdout)
    failed = {f["item"]: f["code"] for f in result["failures"]}
    import_ok = {name: (i + 1) not in failed for i, name in enumerate(sorted(photos))}  # folder order: by name
    assert set(failed.values()) <= {"FailedOperation.DuplicateFace"}, failed
    assert all(a.status == 200 or a.code == "FailedOperation.DuplicateFace" for a in answers.values()), {
        n: a.summary() for n, a in answers.items()
    }

    problems = []
    for name in names:
        api_ok = answers[name].status == 200
        stored = {sid: live_server.db.subject_count(collection_id, sid) for sid in (f"imp-{name}", f"api-{name}")}
        if sum(stored.values()) != 1:
            problems.append(f"{name}: {stored} rows stored (import {import_ok[name]}, API {api_ok})")
        if stored != {f"imp-{name}": int(import_ok[name]), f"api-{name}": int(api_ok)}:
            problems.append(f"{name}: stored {stored}, answered import {import_ok[name]} API {api_ok}")
    assert not problems, "each face stored exactly once, as answered:\n" + "\n".join(problems)

    # the server finds every face under the one subject stored for it, imported or not
    for name in names:
        found = live_server.client.post(
            f"/v1/collections/{collection_id}/search", {"image": b64(photos[name].read_bytes()), "top_k": 1}
        )
        assert found.status == 200, found.summary()
        winner = f"imp-{name}" if import_ok[name] else f"api-{name}"
        assert found.body["matches"][0]["subject_id"] == winner and found.body["matches"][0]["match"]
