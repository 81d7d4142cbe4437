"""Crypto-shredding: after erasure no copy of the subject's data opens with the service's own keys.

Runs on SQLite and (``-m db`` with OPENKYC_TEST_DATABASE_URL) on PostgreSQL. The data is written
through the repositories and the blob store (no face models needed); the raw database files, the
WAL, a backup taken before erasure and a copy of the blob files are then searched for sealed values
and each is tried with the keyring and the key store.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from shredding_helpers import (
    Finder,
    column_values,
    pg_dump,
    pg_raw_pages,
    pg_restore_scratch,
    pg_wal,
    sqlite_files,
)
from sqlalchemy import select

from openkyc.accounts import service as accounts
from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.templates import FaceTemplate
from openkyc.compliance.rights import SubjectRights
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.crypto import DecryptionError
from openkyc.privacy.reach import EndUser
from openkyc.privacy.sweep import run_sweep
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.store import idempotency
from openkyc.store.models.accounts import Resource
from openkyc.store.models.faces import Collection, Subject
from openkyc.store.models.verification import VerificationResult
from openkyc.store.subject_keys import SUBJECT_TABLES, StoredKey
from openkyc.verification.repository import ResultRepository

SUBJECT = "needle-subject-7Qx2Lm"
NEIGHBOUR = "neighbour-subject-4Rt8"
IDENT = {"name": "Quentin Marlowe-Ashby", "id_number": "X9922771", "date_of_birth": "1979-04-23"}
DOC = {"name": "Quentin Marlowe-Ashby", "document_number": "P55123987", "nationality": "GBR"}
KEEP = {"name": "Ottilie Brannigan", "id_number": "K0033442"}
IMAGE = b"\x89PNG face image bytes of the subject " * 8
# the subject's and the neighbour's protected templates: distinct bits, so each is recognisable in raw bytes
TEMPLATE = FaceTemplate(key_id="tk-test", bits=1024, data=bytes((i * 37 + 11) % 256 for i in range(128))).to_bytes()
# distinctive bits (not bytes(range(128)), which other tests write in clear on purpose: the scan of the
# WAL would find their copies)
NEIGHBOUR_TEMPLATE = FaceTemplate(
    key_id="tk-test", bits=1024, data=bytes((i * 53 + 29) % 256 for i in range(128))
).to_bytes()


ANSWER_KEY = "idem-shred-1"


def _answer(app_id: int) -> bytes:
    return json.dumps({"subject_id": SUBJECT, "collection_id": f"col-{app_id}", "RequestId": "r-1"}).encode()


def _ident(value: dict[str, str]) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


def _seed(runtime: Any) -> dict[str, Any]:
    """An app with the subject enrolled (identification, kept image), a verification result, a
    consent and a consented item; a neighbour subject; an anonymous verification."""
    now = runtime.clock()
    with runtime.transaction() as session:
        account = accounts.create_account(session, "shred")
        app = accounts.create_app(session, account.id, "shred")
        app_id = app.id
        collection_id = "col-" + str(app_id)
        session.add(Resource(id=collection_id, app_id=app_id, kind="collection", name="people", created_at=now))
        session.flush()
        session.add(Collection(id=collection_id, app_id=app_id, duplicate_check=False, created_at=now))
        session.flush()
        blob_id = runtime.blobs.put(
            session,
            app_id=app_id,
            kind="face_image",
            data=IMAGE,
            now=now,
            expires_at=now + timedelta(hours=2),
            subject_id=SUBJECT,
            purpose=Purpose.PROVIDE_FEATURES,
        )
        repo = SubjectRepository(session, runtime.gate, runtime.keyring)
        for subject_id, ident, template in ((SUBJECT, IDENT, TEMPLATE), (NEIGHBOUR, KEEP, NEIGHBOUR_TEMPLATE)):
            repo.add(
                app_id,
                collection_id,
                subject_id,
                template=template,
                template_version=1,
                key_id="tk-test",
                identification=ident,
                image_blob_id=blob_id if subject_id == SUBJECT else None,
                now=now,
                purpose=Purpose.PROVIDE_FEATURES,
            )
        results = ResultRepository(session, runtime.gate, runtime.keyring)
        result_id = results.add(
            app_id,
            kind="identity",
            subject_id=SUBJECT,
            result_code="Success",
            live=True,
            sim=91.0,
            details={},
            identification=DOC,
            now=now,
            expires_at=now + timedelta(hours=72),
            purpose=Purpose.PROVIDE_FEATURES,
        )
        anonymous_id = results.add(
            app_id,
            kind="identity",
            subject_id=None,
            result_code="Success",
            live=True,
            sim=88.0,
            details={},
            identification=KEEP,
            now=now,
            expires_at=now + timedelta(hours=3),
            purpose=Purpose.PROVIDE_FEATURES,
        )
        ref = runtime.subject_keys.subject_ref(app_id, SUBJECT)
    with runtime.transaction() as session:  # a retried enrolment's stored answer names the subject
        answers = idempotency.AnswerStore(session, runtime.gate, runtime.keyring)
        label: dict[str, Any] = {"purpose": Purpose.PROVIDE_FEATURES, "elements": (DataElement.SUBJECT_ID,)}
        answers.claim(app_id, ANSWER_KEY, "h" * 64, now, timedelta(hours=2), **label)
        answers.complete(app_id, ANSWER_KEY, 200, "application/json", _answer(app_id), **label)
    with runtime.transaction() as session:  # committed first: the gate reads committed consents
        ConsentRepository(session, runtime.gate, clock=runtime.clock).record(
            app_id, SUBJECT, Purpose.MODEL_IMPROVEMENT, "v1", purpose=Purpose.MODEL_IMPROVEMENT
        )
    with runtime.transaction() as session:
        ConsentRepository(session, runtime.gate, clock=runtime.clock).add_item(
            app_id, SUBJECT, "face_image:eval", blob_id, purpose=Purpose.MODEL_IMPROVEMENT
        )
    return {
        "account_id": account.id,
        "app_id": app_id,
        "collection_id": collection_id,
        "blob_id": blob_id,
        "result_id": result_id,
        "anonymous_id": anonymous_id,
        "ref": ref,
    }


def _finders(runtime: Any, seeded: dict[str, Any]) -> tuple[Finder, Finder]:
    """What to look for: the subject's sealed values, and the neighbour's (which must stay readable)."""
    app_id, col, rid = seeded["app_id"], seeded["collection_id"], seeded["result_id"]
    subject = Finder(runtime.keyring)
    subject.add(f"subject:{app_id}:{col}:{SUBJECT}", _ident(IDENT))
    subject.add(f"subject-id:{app_id}:{seeded['ref']}", SUBJECT)
    subject.add(f"verification:{rid}:{app_id}", _ident(DOC))
    subject.add(f"verification-subject:{rid}:{app_id}", SUBJECT)
    subject.add(f"blob:{seeded['blob_id']}:{app_id}", IMAGE)
    subject.add(f"template:{app_id}:{col}:{seeded['ref']}", TEMPLATE)
    subject.add(f"idempotency:{app_id}:{ANSWER_KEY}", _answer(app_id))  # sealed under its own record key
    neighbour = Finder(runtime.keyring)
    neighbour.add(f"subject:{app_id}:{col}:{NEIGHBOUR}", _ident(KEEP))
    neighbour_ref = runtime.subject_keys.subject_ref(app_id, NEIGHBOUR)
    neighbour.add(f"template:{app_id}:{col}:{neighbour_ref}", NEIGHBOUR_TEMPLATE)
    return subject, neighbour


def _plain_templates(raw: bytes) -> list[bytes]:
    """The templates' bits found in clear in ``raw`` (sealing leaves none, even before erasure)."""
    return [t for t in (TEMPLATE, NEIGHBOUR_TEMPLATE) if t[-64:] in raw]


def _erase(runtime: Any, app_id: int) -> dict[str, Any]:
    return SubjectRights(runtime.access, "test", runtime.face_index).erase(EndUser(app_id, SUBJECT)).model_dump()


def _flush_sqlite(runtime: Any) -> None:
    """What a crash or a copy sees: nothing is left only in memory (the WAL is on disk)."""
    runtime.engine.dispose()


def test_sqlite_files_wal_and_backup_hold_nothing_readable_after_erasure(
    runtime: Any, settings: Any, tmp_path: Path
) -> None:
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite file test; PostgreSQL has its own below")
    seeded = _seed(runtime)
    subject, neighbour = _finders(runtime, seeded)
    data_dir = settings.data_dir
    _flush_sqlite(runtime)

    raw = sqlite_files(data_dir)
    before = subject.scan(raw)
    assert _ident(IDENT) in before and _ident(DOC) in before and SUBJECT.encode() in before  # the scan works
    assert TEMPLATE in before  # the template is there, sealed under the subject's key
    assert _answer(seeded["app_id"]) in before  # and the stored answer, under its record key
    assert _plain_templates(raw) == []  # ...and never in clear
    assert SUBJECT.encode() not in raw  # keyed hash and sealed copy only: the id never appears in clear
    assert SUBJECT.encode() not in sqlite_files(data_dir / "keys", "keys.db")

    backup = tmp_path / "backup"  # a backup of the data (database + WAL + blob files) before erasure
    backup.mkdir()
    for name in ("openkyc.db", "openkyc.db-wal"):
        if (data_dir / name).exists():
            shutil.copy(data_dir / name, backup / name)
    shutil.copytree(data_dir / "blobs", backup / "blobs")
    blob_copies = [p.read_bytes() for p in (backup / "blobs").rglob("bl-*")]
    assert any(subject.scan(b) == [IMAGE] for b in blob_copies)

    with runtime.subject_keys.engine.connect() as connection:
        wrapped = connection.execute(select(StoredKey.wrapped_key).where(StoredKey.owner_ref == seeded["ref"])).scalar()
    assert wrapped and wrapped in sqlite_files(data_dir / "keys", "keys.db")

    receipt = _erase(runtime, seeded["app_id"])
    assert receipt["items"]["subject_keys_destroyed"] == 1
    assert receipt["items"]["answer_keys_destroyed"] == 1
    _flush_sqlite(runtime)

    raw_after = sqlite_files(data_dir)
    assert subject.scan(raw_after) == []  # no identification, id, image or template opens
    kept = sorted(neighbour.scan(raw_after))
    assert kept == sorted([_ident(KEEP), NEIGHBOUR_TEMPLATE])  # the same scan still reads what was kept
    assert _plain_templates(raw_after) == []
    assert subject.scan(sqlite_files(backup)) == []  # the pre-erasure backup: ciphertext only
    assert _plain_templates(sqlite_files(backup)) == []  # the backup holds the template sealed only
    assert [t for t in column_values(f"sqlite:///{backup / 'openkyc.db'}") if subject.open_token(t)] == []
    assert all(subject.scan(b) == [] for b in blob_copies)  # copied blob files: unreadable
    assert list((data_dir / "blobs").rglob(seeded["blob_id"])) == []
    keys_raw = sqlite_files(data_dir / "keys", "keys.db")
    with runtime.subject_keys.engine.connect() as connection:
        assert connection.execute(select(StoredKey.id).where(StoredKey.owner_ref.is_not(None))).all() != []
    assert seeded["ref"].encode() not in keys_raw  # the destroyed key's row is zeroed in the key store
    assert wrapped not in keys_raw


def test_postgresql_dead_tuples_wal_and_dump_hold_nothing_readable_after_erasure(runtime: Any, tmp_path: Path) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("needs OPENKYC_TEST_DATABASE_URL (PostgreSQL)")
    with runtime.engine.connect() as connection:
        started = connection.exec_driver_sql("SELECT now()").scalar()
    seeded = _seed(runtime)
    subject, neighbour = _finders(runtime, seeded)
    with runtime.subject_keys.engine.connect() as connection:
        key_id = connection.execute(select(StoredKey.id).where(StoredKey.owner_ref == seeded["ref"])).scalar_one()
    url = runtime.engine.url.render_as_string(hide_password=False)
    dump = pg_dump(url, tmp_path / "before.sql")  # the backup, taken before erasure
    with runtime.engine.connect() as connection:
        pages = pg_raw_pages(connection, SUBJECT_TABLES)
        wal = pg_wal(connection, started - timedelta(minutes=1))
    assert _ident(IDENT) in subject.scan(pages) and _ident(DOC) in subject.scan(pages)  # the scan works
    assert _ident(IDENT) in subject.scan(wal)
    assert TEMPLATE in subject.scan(pages) and TEMPLATE in subject.scan(wal)  # sealed templates, found
    assert _answer(seeded["app_id"]) in subject.scan(pages)  # the stored answer, under its record key
    assert _plain_templates(pages + wal) == []  # never in clear, not even in the WAL
    assert SUBJECT.encode() not in pages + wal + dump.read_bytes()  # keyed hashes only, even in the WAL

    _erase(runtime, seeded["app_id"])

    with runtime.engine.connect() as connection:
        pages_after = pg_raw_pages(connection, SUBJECT_TABLES)
        wal_after = pg_wal(connection, started - timedelta(minutes=1))
    assert subject.scan(pages_after) == []  # dead tuples and free space: nothing opens
    assert subject.scan(wal_after) == []  # the WAL still holds the ciphertexts; none opens
    assert wal_after.count(key_id.encode()) >= 1  # ...the ciphertexts are there, sealed under the gone key
    kept = neighbour.scan(pages_after)
    assert _ident(KEEP) in kept and NEIGHBOUR_TEMPLATE in kept  # the same scan still reads what was kept
    assert _plain_templates(pages_after + wal_after) == []
    scratch, drop = pg_restore_scratch(url, dump)
    try:
        restored = list(column_values(scratch))
        assert len(restored) >= 5
        assert [t for t in restored if subject.open_token(t)] == []  # the restored backup: ciphertext only
        assert [t for t in restored if neighbour.open_token(t)] != []
        assert _plain_templates(b"".join(restored) + dump.read_bytes()) == []  # templates: sealed copies only
        assert any(t[3 : 3 + t[2]] == key_id.encode() for t in restored)  # its ciphertexts are in the backup
    finally:
        drop()


def test_erasure_destroys_the_key_before_the_rows_and_everything_else_still_works(runtime: Any) -> None:
    seeded = _seed(runtime)
    app_id = seeded["app_id"]
    rights = SubjectRights(runtime.access, "test", runtime.face_index)
    person = EndUser(app_id, SUBJECT)
    exported = rights.export(person).export
    values = [item.value for item in exported.items if isinstance(item.value, dict)]
    assert {v.get("id_number") for v in values} >= {IDENT["id_number"]}
    assert {v.get("document_number") for v in values} >= {DOC["document_number"]}
    assert [v for v in values if v.get("subject_id") == SUBJECT] != []  # opened from its sealed copy
    assert exported.subject_id == SUBJECT
    with runtime.transaction() as session:
        token = session.scalar(select(Subject.identification_enc).where(Subject.subject_id == seeded["ref"]))
        row_ids = list(session.scalars(select(Subject.id)))
        opened = {
            r[2]: r[3] for r in SubjectRepository(session, runtime.gate, runtime.keyring).rows_by_id(
                app_id, row_ids, purpose=Purpose.PROVIDE_FEATURES
            )
        }  # fmt: skip
    assert opened == {SUBJECT: TEMPLATE, NEIGHBOUR: NEIGHBOUR_TEMPLATE}  # search answers still name subjects
    assert token is not None and token[3:6] == b"sk-"

    runtime.subject_keys.destroy(app_id, SUBJECT)  # as erasure does first: the rows are still there
    with pytest.raises(DecryptionError):
        runtime.keyring.decrypt(token, f"subject:{app_id}:{seeded['collection_id']}:{SUBJECT}".encode())
    with runtime.transaction() as session:
        repo = SubjectRepository(session, runtime.gate, runtime.keyring)
        left = [r[2] for r in repo.rows_by_id(app_id, row_ids, purpose=Purpose.PROVIDE_FEATURES)]
        chunks = list(repo.iter_templates(app_id, seeded["collection_id"], purpose=Purpose.PROVIDE_FEATURES))
    assert left == [NEIGHBOUR]  # the shredded template is no longer served to the index
    assert [t for chunk in chunks for _, t in chunk] == [NEIGHBOUR_TEMPLATE]
    receipt = rights.erase(person)  # an erasure that stopped after the key still completes
    assert receipt.items["subjects"] == 1 and receipt.items["verification_results"] == 1
    assert rights.export(person).export.items == ()
    with runtime.transaction() as session:
        repo = SubjectRepository(session, runtime.gate, runtime.keyring)
        kept = repo.of_subject(app_id, NEIGHBOUR, purpose=Purpose.PROVIDE_FEATURES)
    assert kept[0]["identification"] == KEEP


def test_anonymous_records_are_shredded_when_they_expire(runtime: Any) -> None:
    seeded = _seed(runtime)
    with runtime.transaction() as session:
        token = session.get(VerificationResult, seeded["anonymous_id"]).identification_enc
    assert token[3:6] == b"rk-"
    aad = f"verification:{seeded['anonymous_id']}:{seeded['app_id']}".encode()
    assert json.loads(runtime.keyring.decrypt(token, aad)) == KEEP
    start = runtime.clock()
    runtime.clock = lambda: start + timedelta(hours=4)  # past the result's 3 hours
    report = run_sweep(runtime.sweeper)
    assert report.counts["expired_record_keys"] == 2  # the anonymous result's own key, the stored answer's
    with pytest.raises(DecryptionError):
        runtime.keyring.decrypt(token, aad)


def test_data_sealed_under_the_shared_keys_still_opens(runtime: Any) -> None:
    """Rows written before per-subject keys (sealed under a shared data key) stay readable."""
    seeded = _seed(runtime)
    app_id, col = seeded["app_id"], seeded["collection_id"]
    legacy = runtime.keyring.encrypt(_ident(KEEP), f"subject:{app_id}:{col}:{SUBJECT}".encode())
    assert legacy[3:6] == b"dk-"
    with runtime.transaction() as session:
        row = session.scalar(select(Subject).where(Subject.subject_id == seeded["ref"]))
        row.identification_enc = legacy
    with runtime.transaction() as session:
        found = SubjectRepository(session, runtime.gate, runtime.keyring).of_subject(
            app_id, SUBJECT, purpose=Purpose.PROVIDE_FEATURES
        )
    assert found[0]["identification"] == KEEP


def test_hosted_session_token_is_hashed_and_its_extra_shredded_after_its_period(
    tenant: Any, runtime: Any, settings: Any
) -> None:
    created = tenant.post("/v1/sessions", {"redirect_url": "https://example.invalid/back", "extra": "order-77-secret"})
    assert created.status_code == 200, created.text
    token = created.json()["biz_token"]
    assert tenant.get(f"/v1/sessions/{token}/result").json()["extra"] == "order-77-secret"
    if runtime.engine.dialect.name == "sqlite":
        runtime.engine.dispose()
        raw = sqlite_files(settings.data_dir)
        assert token.encode() not in raw and runtime.subject_keys.token_ref(token).encode() in raw

    later = runtime.clock() + timedelta(hours=73)  # past the policy's 72-hour session period
    assert runtime.subject_keys.destroy_expired(later) == 1  # the key goes first (the sweep's first step)
    after = tenant.get(f"/v1/sessions/{token}/result")
    assert after.status_code == 200 and after.json()["extra"] is None  # shredded, not an error
    runtime.clock = lambda: later
    report = run_sweep(runtime.sweeper)
    assert report.counts["expired_record_keys"] == 0 and report.counts["verification_sessions"] == 1


def test_offboarding_destroys_every_key_of_the_account(runtime: Any) -> None:
    seeded = _seed(runtime)
    with runtime.transaction() as session:
        kept = session.scalar(select(Subject.identification_enc).where(Subject.subject_id != seeded["ref"]))
    aad = f"subject:{seeded['app_id']}:{seeded['collection_id']}:{NEIGHBOUR}".encode()
    assert json.loads(runtime.keyring.decrypt(kept, aad)) == KEEP
    done = SubjectRights(runtime.access, "test", runtime.face_index).erase_account(seeded["account_id"])
    assert done.receipt.items["subject_keys_destroyed"] == 4  # two subjects', the anonymous result's, the answer's
    with pytest.raises(DecryptionError):
        runtime.keyring.decrypt(kept, aad)
