"""Bulk enrolment (``FaceService.enrol_many``, the path of ``openkyc import``): per-item answers,
rows sealed under each subject's own key, and the multi-row INSERT under concurrent writers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, func, select

from openkyc.biometrics.bulk_rows import BulkSubjects
from openkyc.biometrics.repository import SubjectRepository, open_template, template_aad
from openkyc.biometrics.search import IndexManager
from openkyc.biometrics.service import FaceService
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.crypto import DecryptionError, sealed_key_id, unseal
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.faces import IndexEvent, Subject
from openkyc.store.subject_keys import StoredKey


def _service(runtime: Any, app_id: int) -> FaceService:
    return FaceService(
        runtime.access, runtime.models, runtime.face_index, app_id, template_bits=runtime.settings.template_bits
    )


def _rows(runtime: Any, collection_id: str) -> list[Subject]:
    with runtime.transaction() as session:
        return list(session.scalars(select(Subject).where(Subject.collection_id == collection_id)).all())


@pytest.mark.slow
def test_a_batch_writes_every_good_item_and_answers_each_bad_one(runtime: Any, tenant: Any, shared_data: Path) -> None:
    ids = shared_data / "facerec-examples" / "identities"
    photo = {
        "obama": (ids / "obama" / "obama.jpg").read_bytes(),
        "biden": (ids / "biden" / "biden.jpg").read_bytes(),
        "rose": (ids / "rose_leslie" / "img1.jpg").read_bytes(),
        "kit": (ids / "kit_harington" / "john1.jpeg").read_bytes(),
        "group": (shared_data / "facerec-examples" / "group" / "two_people.jpg").read_bytes(),
    }
    faces = _service(runtime, tenant.app_id)
    collection = faces.create_collection("bulk", duplicate_check=True)["collection_id"]
    first = faces.enrol_many(collection, [("o-1", photo["obama"], None)])
    assert first == [{"subject_id": "o-1", "status": "enrolled", "code": None}]

    answers = faces.enrol_many(
        collection,
        [
            ("b-1", photo["biden"], {"name": "Joe Example", "country": "US"}),
            ("o-1", photo["kit"], None),  # already enrolled: answered before the model
            ("g-1", photo["group"], None),  # two faces
            ("x-1", b"not an image", None),
            ("o-2", photo["obama"], None),  # the face of o-1: the index's duplicate
            ("b-2", photo["biden"], None),  # the face of b-1, earlier in this batch
            ("r-1", photo["rose"], None),
            ("r-1", photo["kit"], None),  # the same subject twice in one batch
            ("k-1", photo["kit"], None),
        ],
    )
    status = {(i, a["subject_id"]): (a["status"], a["code"]) for i, a in enumerate(answers)}
    assert status[(0, "b-1")] == ("enrolled", None)
    assert status[(1, "o-1")] == ("failed", "InvalidParameterValue.SubjectExists")
    assert status[(2, "g-1")][0] == "failed" and status[(2, "g-1")][1].startswith("FailedOperation.")
    assert status[(3, "x-1")][0] == "failed" and status[(3, "x-1")][1] is not None
    assert status[(4, "o-2")] == ("failed", "FailedOperation.DuplicateFace")
    assert status[(5, "b-2")] == ("failed", "FailedOperation.DuplicateFace")
    assert status[(6, "r-1")] == ("enrolled", None)
    assert status[(7, "r-1")] == ("failed", "InvalidParameterValue.SubjectExists")
    assert status[(8, "k-1")] == ("enrolled", None)

    rows = _rows(runtime, collection)
    assert len(rows) == 4
    keys = runtime.subject_keys
    by_ref = {keys.subject_ref(tenant.app_id, sid): sid for sid in ("o-1", "b-1", "r-1", "k-1")}
    assert {r.subject_id for r in rows} == set(by_ref)  # keyed hashes, never the ids
    with runtime.transaction() as session:
        events = session.scalars(select(IndexEvent.subject_row).where(IndexEvent.collection_id == collection))
        assert sorted(events) == sorted(r.id for r in rows)
    for row in rows:
        subject_id = by_ref[row.subject_id]
        own = keys.for_subject(tenant.app_id, subject_id)  # the subject's key, found (not made) here
        assert sealed_key_id(row.template) == sealed_key_id(row.subject_id_enc) == own.key_id
        template = FaceTemplate.from_bytes(
            unseal(own.key, row.template, template_aad(tenant.app_id, collection, row.subject_id))
        )
        assert len(template.data) * 8 == template.bits >= 1024 and row.key_id.startswith("tk-")
        opened = open_template({own.key_id: own.key}, tenant.app_id, collection, row.subject_id, row.template)
        assert opened == template.to_bytes()
        other = keys.for_subject(tenant.app_id, next(s for s in by_ref.values() if s != subject_id))
        assert other.key_id != own.key_id  # each subject its own key
        with pytest.raises(DecryptionError):  # another subject's key does not open it
            unseal(other.key, row.template, template_aad(tenant.app_id, collection, row.subject_id))
        other_ref = next(r.subject_id for r in rows if r.subject_id != row.subject_id)
        with pytest.raises(DecryptionError):  # nor does it open as another row's template
            unseal(own.key, row.template, template_aad(tenant.app_id, collection, other_ref))
    with runtime.transaction() as session:
        held = SubjectRepository(session, runtime.gate, runtime.keyring).of_subject(
            tenant.app_id, "b-1", purpose=Purpose.PROVIDE_FEATURES
        )
    assert held[0]["identification"] == {"name": "Joe Example", "country": "US"}

    # a fresh process's index reads the bulk rows; a search names the subjects
    fresh = IndexManager()
    with runtime.transaction() as session:
        fresh.load(session, SubjectRepository(session, runtime.gate, runtime.keyring))
    assert fresh.size(collection) == 4
    found = _service(runtime, tenant.app_id).search(collection, photo["rose"], 1)
    assert found["matches"][0]["subject_id"] == "r-1" and found["matches"][0]["match"]


def _new(seed: int, count: int) -> list[tuple[str, bytes, int, dict[str, Any] | None]]:
    codes = np.random.default_rng(seed).integers(0, 256, size=(count, 128), dtype=np.uint8)
    return [(f"s{i}", FaceTemplate("tk-bulk", 1024, codes[i].tobytes()).to_bytes(), 1, None) for i in range(count)]


def _collection(tenant: Any) -> str:
    return str(tenant.post("/v1/collections", {"name": "c"}).json()["collection_id"])


def _add_many(runtime: Any, app_id: int, collection: str, subjects: list[Any]) -> list[bool]:
    with runtime.transaction() as session:
        keys = runtime.subject_keys.for_subjects(app_id, [s[0] for s in subjects])
        return BulkSubjects(session, runtime.gate, runtime.keyring).add_many(
            app_id, collection, subjects, key_id="tk-bulk", subject_keys=keys, now=datetime.now(UTC),
            purpose=Purpose.PROVIDE_FEATURES,
        )  # fmt: skip


def test_a_row_committed_by_another_writer_meanwhile_fails_alone(runtime: Any, tenant: Any) -> None:
    collection = _collection(tenant)
    subjects = _new(1, 6)
    done = {"raced": False}

    def race(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # just before the batch's INSERT, another transaction commits s3
        if not done["raced"] and statement.lstrip().upper().startswith("INSERT INTO SUBJECTS"):
            done["raced"] = True
            other: list[list[bool]] = []
            worker = threading.Thread(
                target=lambda: other.append(_add_many(runtime, tenant.app_id, collection, [subjects[3]]))
            )
            worker.start()
            worker.join()
            assert other == [[True]]

    event.listen(runtime.engine, "before_cursor_execute", race)
    try:
        written = _add_many(runtime, tenant.app_id, collection, subjects)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", race)
    assert done["raced"]
    assert written == [True, True, True, False, True, True]
    rows = _rows(runtime, collection)
    assert len(rows) == 6
    with runtime.transaction() as session:
        assert (
            session.scalar(select(func.count()).select_from(IndexEvent).where(IndexEvent.collection_id == collection))
            == 6
        )
    with runtime.transaction() as session:
        repo = SubjectRepository(session, runtime.gate, runtime.keyring)
        opened = {sid: t for _, sid, t in repo.templates(tenant.app_id, collection, purpose=Purpose.PROVIDE_FEATURES)}
    assert opened == {sid: template for sid, template, _, _ in subjects}


def test_concurrent_bulk_writers_store_each_subject_once(runtime: Any, tenant: Any) -> None:
    collection = _collection(tenant)
    subjects = _new(2, 40)
    results: list[list[bool]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(offset: int) -> None:
        try:
            start.wait()
            mine = subjects[offset:] + subjects[:offset]  # the same 40 subjects, in another order
            written = _add_many(runtime, tenant.app_id, collection, mine)
            results.append([s[0] for s, ok in zip(mine, written, strict=True) if ok])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k * 10,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stored = sorted(sid for written in results for sid in written)
    assert stored == sorted(s[0] for s in subjects)  # each written by exactly one writer
    assert len(_rows(runtime, collection)) == 40
    with runtime.subject_keys.engine.connect() as connection:
        refs = [runtime.subject_keys.subject_ref(tenant.app_id, s[0]) for s in subjects]
        count = connection.execute(select(func.count()).select_from(StoredKey).where(StoredKey.owner_ref.in_(refs)))
        assert count.scalar() == 40  # one key per subject, whichever writer made it
    with runtime.transaction() as session:
        repo = SubjectRepository(session, runtime.gate, runtime.keyring)
        opened = repo.templates(tenant.app_id, collection, purpose=Purpose.PROVIDE_FEATURES)
    assert {sid: t for _, sid, t in opened} == {sid: template for sid, template, _, _ in subjects}
