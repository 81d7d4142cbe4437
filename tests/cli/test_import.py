"""`openkyc import`: bulk enrolment from a folder or a CSV, real models on real photos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openkyc.biometrics.service import FaceService
from openkyc.cli.main import build
from openkyc.runtime import Runtime
from openkyc.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("DATABASE_URL", "MASTER_KEY", "REDIS_URL", "KEY_STORE_URL"):
        monkeypatch.delenv(f"OPENKYC_{name}", raising=False)
    runner = CliRunner()
    app = build()
    return lambda *args: runner.invoke(app, list(args))


def _service(data_dir: Path, app_id: int) -> tuple[Runtime, FaceService]:
    runtime = Runtime.open(Settings(data_dir=data_dir))
    return runtime, FaceService(
        runtime.access, runtime.models, runtime.face_index, app_id, template_bits=runtime.settings.template_bits
    )


def test_import_a_folder_with_duplicate_check_and_a_csv(cli: Any, tmp_path: Path, shared_data: Path) -> None:
    ids = shared_data / "facerec-examples" / "identities"
    data_dir = tmp_path / "data"
    init = cli("init", "--data-dir", str(data_dir), "--json")
    assert init.exit_code == 0, init.output
    app_id = json.loads(init.stdout)["app_id"]
    runtime, faces = _service(data_dir, app_id)
    try:
        checked = faces.create_collection("people", duplicate_check=True)["collection_id"]
        plain = faces.create_collection("plain", duplicate_check=False)["collection_id"]
    finally:
        runtime.close()

    folder = tmp_path / "photos"
    folder.mkdir()
    for name, photo in {
        "biden": ids / "biden" / "biden.jpg",
        "group": shared_data / "facerec-examples" / "group" / "two_people.jpg",
        "kit": ids / "kit_harington" / "john1.jpeg",
        "obama": ids / "obama" / "obama.jpg",
        "obama2": ids / "obama" / "obama2.jpg",  # the same person: refused by the duplicate check
        "rose": ids / "rose_leslie" / "img1.jpg",
    }.items():
        shutil.copy(photo, folder / f"{name}{photo.suffix}")
    (folder / "not-an-image.jpg").write_bytes(b"hello")
    (folder / "notes.txt").write_text("ignored: not an image suffix")

    # batches of 3: [biden, group, kit] [not-an-image, obama, obama2] [rose]: the duplicate
    # is caught inside its own batch, before anything of it is written
    done = cli("import", str(folder), "--collection", checked, "--app-id", str(app_id), "--batch", "3",
               "--data-dir", str(data_dir), "--json")  # fmt: skip
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert (result["items"], result["enrolled"], result["failed"]) == (7, 4, 3)
    codes = {f["item"]: f["code"] for f in result["failures"]}
    assert codes[2].startswith("FailedOperation.") and "Face" in codes[2]  # two people
    assert codes[4].startswith("FailedOperation.") or codes[4].startswith("InvalidParameterValue.")  # not an image
    assert codes[6] == "FailedOperation.DuplicateFace"
    again = cli("import", str(folder), "--collection", checked, "--app-id", str(app_id), "--data-dir", str(data_dir),
                "--json")  # fmt: skip
    assert json.loads(again.stdout)["enrolled"] == 0  # every face is there already

    rows = tmp_path / "subjects.csv"
    rows.write_text(
        "subject_id,image,name\nm-1,photos/obama.jpg,Alice Example\nm-2,photos/biden.jpg,\nm-3,photos/obama2.jpg,\n"
    )
    done = cli("import", str(rows), "--collection", plain, "--app-id", str(app_id), "--data-dir", str(data_dir),
               "--json")  # fmt: skip
    assert json.loads(done.stdout)["enrolled"] == 3  # no duplicate check in this collection

    runtime, faces = _service(data_dir, app_id)
    try:
        assert faces.describe_collection(checked)["subject_count"] == 4
        with runtime.transaction() as session:
            faces.index.load(session, faces._repo(session))
        found = faces.search(checked, (ids / "obama" / "obama2.jpg").read_bytes(), 2)
        assert found["matches"][0]["subject_id"] == "obama" and found["matches"][0]["match"]
        found = faces.search(plain, (ids / "obama" / "obama2.jpg").read_bytes(), 2)
        assert {m["subject_id"] for m in found["matches"]} == {"m-1", "m-3"}
    finally:
        runtime.close()


def test_import_refuses_a_bad_source(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("who,where\na,b\n")
    done = cli("import", str(bad), "--collection", "col-x", "--app-id", "1", "--data-dir", str(tmp_path))
    assert done.exit_code == 2 and "InvalidParameterValue.ImportFile" in done.stderr
    missing = cli("import", str(tmp_path / "nope"), "--collection", "col-x", "--app-id", "1")
    assert missing.exit_code == 2 and "FileNotFound" in missing.stderr


def test_bad_rows_of_a_csv_fail_alone_with_a_code_each(cli: Any, tmp_path: Path, shared_data: Path) -> None:
    data_dir = tmp_path / "data"
    init = cli("init", "--data-dir", str(data_dir), "--json")
    app_id = json.loads(init.stdout)["app_id"]
    runtime, faces = _service(data_dir, app_id)
    try:
        collection = faces.create_collection("rows", duplicate_check=True)["collection_id"]
    finally:
        runtime.close()
    shutil.copy(shared_data / "facerec-examples" / "identities" / "biden" / "biden.jpg", tmp_path / "biden.jpg")
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "sub").mkdir()
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "subject_id,image,name\n"
        "good-1,biden.jpg,Joe Example\n"  # 1
        "nul\x00id,biden.jpg,\n"  # 2: NUL in the id
        "gone,missing.jpg,\n"  # 3: no such file
        "no-image,,\n"  # 4: empty image column
        "short\n"  # 5: a short row
        "text,text.jpg,\n"  # 6: not an image
        "folder,sub,\n"  # 7: a folder, not a file
        ",biden.jpg,\n"  # 8: no id
        "good-1,biden.jpg,\n"  # 9: enrolled already (by row 1)
    )
    done = cli("import", str(rows), "--collection", collection, "--app-id", str(app_id), "--batch", "4",
               "--data-dir", str(data_dir), "--json")  # fmt: skip
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert (result["items"], result["enrolled"], result["failed"]) == (9, 1, 8)
    codes = {f["item"]: f["code"] for f in result["failures"]}
    assert [f["item"] for f in result["failures"]] == [2, 3, 4, 5, 6, 7, 8, 9]  # in row order
    assert codes[2] == codes[8] == "InvalidParameterValue.SubjectId"
    assert codes[3] == codes[4] == codes[5] == codes[7] == "InvalidParameterValue.FileNotFound"
    assert codes[6].startswith(("InvalidParameterValue.", "FailedOperation."))
    assert codes[9] == "InvalidParameterValue.SubjectExists"
    assert "Joe" not in done.stdout and "nul" not in done.stdout  # item numbers and codes only

    human = cli("import", str(rows), "--collection", collection, "--app-id", str(app_id),
                "--data-dir", str(data_dir))  # fmt: skip
    assert human.exit_code == 0, human.output
    assert "enrolled 0 of 9, failed 9" in human.stdout
    assert (
        "4 x InvalidParameterValue.FileNotFound" in human.stdout
        and "item 1: InvalidParameterValue.SubjectExists" in human.stdout
    )

    binary = tmp_path / "latin.csv"
    binary.write_bytes(b"subject_id,image\n\xe9t\xe9,biden.jpg\n")
    bad = cli("import", str(binary), "--collection", collection, "--app-id", str(app_id), "--data-dir", str(data_dir))
    assert bad.exit_code == 2 and "InvalidParameterValue.ImportFile" in bad.stderr
