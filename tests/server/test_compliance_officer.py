"""Issue 10 audited from outside: a compliance officer tries the served product on a fresh data directory.

Everything goes through a real ``openkyc serve`` (HTTP, signed) and the ``openkyc`` command line as
docs/privacy.md and docs/cli.md describe them, with real photos, videos and a passport specimen from
the shared data folder; on SQLite and (``-m db`` with OPENKYC_TEST_DATABASE_URL) on PostgreSQL.

1. A subject is enrolled with identification, runs a selfie and an identity verification, and a
   hosted session is created for them; consent is recorded and a sample added.
2. The export (JSON and ZIP) holds every element, decrypted: the identification given at enrolment,
   the ten document fields read from the passport, the hosted session's ``extra``, the images.
3. A backup is taken (the SQLite file and its WAL copied; ``pg_dump`` on PostgreSQL). Opened with the
   service's own keys (the key store and master key of the data directory) it gives the subject's
   data back: the positive control.
4. After ``POST /v1/privacy/subjects/{id}/erase`` the same backup, opened the same way, gives nothing
   of the subject back; the subject's key is gone from the key store while its ciphertexts are still
   in the backup; the raw database files hold none of the planted values in clear.
5. Retention with the clock moved (``faketime`` around ``openkyc purge``): identification on a
   template goes after 72 hours while the template stays; the template goes after two years.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from server_data import first_frame_jpeg, mrz_specimen
from server_harness import LiveServer, openkyc_command

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "privacy_api"))

from shredding_helpers import pg_dump, pg_restore_scratch

pytestmark = [pytest.mark.slow, pytest.mark.db]

SUBJECT = "officer-subject-1"
LATER = "officer-subject-2"
IDENT = {"name": "Philippa Grantchester-Oyelaran", "id_number": "ZQ7314859", "date_of_birth": "1984-11-07"}
EXTRA = "officer-order-5531"
FAKETIME = shutil.which("faketime")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def cli(live: LiveServer, *args: str, shift: str | None = None) -> subprocess.CompletedProcess[str]:
    """``openkyc ARGS --data-dir D`` as the operator runs it; ``shift`` (``+4d``) moves its clock."""
    command = openkyc_command(*args, "--data-dir", str(live.process.data_dir))
    if shift is not None:
        assert FAKETIME is not None
        command = [FAKETIME, "-f", shift, *command]
    return subprocess.run(command, env=live.process.env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def media(shared_data: Path) -> dict[str, bytes]:
    video = sorted((shared_data / "grid-talking-face-videos").glob("*.mpg"))[0]
    return {"video": video.read_bytes(), "face": first_frame_jpeg(video), "passport": mrz_specimen(shared_data)}


def _export(live: LiveServer, subject: str, query: str = "") -> dict[str, Any]:
    answer = live.client.get(f"/v1/privacy/subjects/{subject}{query}")
    assert answer.status == 200, answer.body
    return answer.body


def _values(export: dict[str, Any]) -> str:
    return json.dumps([item.get("value") for item in export["items"]], ensure_ascii=False)


@contextmanager
def _backup_opened(live: LiveServer, backup: Path | str) -> Iterator[Any]:
    """A runtime over the backup with the service's own keys (the data directory's key store)."""
    from openkyc.runtime import Runtime
    from openkyc.settings import Settings

    url = backup if isinstance(backup, str) else f"sqlite:///{backup / 'openkyc.db'}"
    scratch = Path(str(backup)).parent if isinstance(backup, Path) else live.process.data_dir.parent
    settings = Settings(
        data_dir=live.process.data_dir,
        # the backup's own audit checkpoints: the live log's file names the live records only
        audit_checkpoint_file=scratch / "backup-checkpoints.jsonl",
        database_url=url,
        master_key=live.process.master_key,
        environment="test",
        preload_models=False,
    )
    runtime = Runtime.open(settings, migrate=False)
    try:
        yield runtime
    finally:
        runtime.close()


def _read_back(live: LiveServer, backup: Path | str, token: str) -> str:
    """What the subject's rights export finds in the backup, decrypted with the service's keys."""
    from openkyc.compliance.rights import SubjectRights
    from openkyc.privacy.reach import EndUser

    with _backup_opened(live, backup) as runtime:
        rights = SubjectRights(runtime.access, "officer", runtime.face_index)
        exported = rights.export(EndUser(live.credential.app_id, SUBJECT, (token,)))
    return json.dumps(exported.export.model_dump(mode="json"), ensure_ascii=False)


def _take_backup(live: LiveServer, target: Path) -> Path | str:
    url = live.process.database_url
    if url.startswith("sqlite:///"):
        target.mkdir()
        database = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal"):
            if Path(f"{database}{suffix}").exists():
                shutil.copy(f"{database}{suffix}", target / f"openkyc.db{suffix}")
        return target
    return str(pg_dump(url, target.with_suffix(".sql")))


def _raw_files(live: LiveServer) -> bytes:
    url = live.process.database_url
    if not url.startswith("sqlite:///"):
        return b""
    database = Path(url.removeprefix("sqlite:///"))
    return b"".join(Path(f"{database}{s}").read_bytes() for s in ("", "-wal") if Path(f"{database}{s}").exists())


def test_enrol_verify_export_erase_and_read_the_backup_with_the_services_keys(
    live_server: LiveServer, media: dict[str, bytes], tmp_path: Path
) -> None:
    live, client = live_server, live_server.client
    collection = client.post("/v1/collections", {"name": "officer"}).body["collection_id"]
    enrol = {"subject_id": SUBJECT, "image": b64(media["face"]), "identification": IDENT, "retain_image": True}
    answer = client.post(f"/v1/collections/{collection}/subjects", enrol)
    assert answer.status == 200, answer.body
    selfie = {"video": b64(media["video"]), "image": b64(media["face"]), "mode": "silent", "subject_id": SUBJECT}
    assert client.post("/v1/verifications/selfie", selfie).status == 200
    identity = {
        "document_image": b64(media["passport"]),
        "video": b64(media["video"]),
        "mode": "silent",
        "subject_id": SUBJECT,
    }
    read = client.post("/v1/verifications/identity", identity)
    assert read.status == 200, read.body
    document_fields = {k: v for k, v in (read.body.get("fields") or {}).items() if v}
    assert len(document_fields) >= 8, read.body  # the passport specimen's MRZ was read
    distinctive = [str(v) for v in document_fields.values() if len(str(v)) >= 6]  # names, numbers, dates
    assert len(distinctive) >= 3, document_fields
    # a recorded clip cannot follow a timed challenge drawn after it: a rule without challenges
    plain_rule = client.post("/v1/rules", {"name": "no-challenge", "config": {"hosted": {"challenge": False}}})
    hosted = {"redirect_url": "https://example.com/done", "compare_image": b64(media["face"]), "extra": EXTRA}
    token = client.post("/v1/sessions", {**hosted, "rule_id": plain_rule.body["rule_id"]}).body["biz_token"]
    assert client.get(f"/verify/{token}", signed=False).status == 200  # the end user opens the page...
    assert client.post(f"/verify/{token}/notice", {"agree": True}, signed=False).status == 200  # ...agrees...
    submitted = client.post(f"/verify/{token}/submit", {"video": b64(media["video"])}, signed=False)
    assert submitted.status == 200, submitted.body  # ...and sends their video
    assert client.post("/v1/privacy/consents", {"subject_id": SUBJECT, "text_version": "v1"}).status == 200
    sample = client.post("/v1/improvement/samples", {"subject_id": SUBJECT, "image": b64(media["face"])})
    assert sample.status == 200, sample.body

    # the export: everything, decrypted
    exported = _export(live, SUBJECT, f"?biz_token={token}")
    values = _values(exported)
    for value in (*IDENT.values(), EXTRA, *distinctive):
        assert value in values, value
    assert exported["consents"] and exported["consents"][0]["text_version"] == "v1"
    by_column = {(i["table"], i["column"]) for i in exported["items"]}
    assert ("verification_sessions", "extra_enc") in by_column and ("verification_sessions", "result_id") in by_column
    assert "127.0.0.1" in {
        str((i["value"] or {}).get("client_ip")) for i in exported["items"]
    }  # the end user's address
    for item in exported["items"]:
        assert item["source"] and (item["legal_basis"] or not item["purposes"]), item
    archive_answer = _zip(live, f"/v1/privacy/subjects/{SUBJECT}/export.zip?biz_token={token}")
    archive = zipfile.ZipFile(io.BytesIO(archive_answer))
    manifest = json.loads(archive.read("manifest.json"))
    assert len(manifest["items"]) == len(exported["items"])
    media_files = [archive.read(f["name"]) for f in manifest["files"]]
    assert len(media_files) >= 3  # enrolment image, hosted reference photo, the consented sample
    assert all(data[:3] == b"\xff\xd8\xff" or data[:4] == b"\x89PNG" for data in media_files)  # decrypted images
    assert media["face"] in media_files  # byte for byte what was sent
    assert IDENT["name"] in archive.read("summary.html").decode()
    raw = _raw_files(live)
    for value in (*IDENT.values(), EXTRA, SUBJECT):
        assert value.encode() not in raw  # at rest: sealed or keyed hashes, never in clear

    # a backup before erasure opens with the service's keys (the positive control)
    backup = _take_backup(live, tmp_path / "backup")
    before = _read_back(live, backup if isinstance(backup, Path) else _restored(backup, live), token)
    assert EXTRA in before and IDENT["name"] in before and IDENT["id_number"] in before

    receipt = client.post(f"/v1/privacy/subjects/{SUBJECT}/erase", {})
    assert receipt.status == 200, receipt.body
    assert receipt.body["items"]["subject_keys_destroyed"] == 1
    assert client.post(f"/v1/privacy/sessions/{token}/erase", {}).status == 200

    after = _export(live, SUBJECT)
    assert all(value not in _values(after) for value in (*IDENT.values(), EXTRA))
    assert not after["files"]
    read_back = _read_back(live, backup if isinstance(backup, Path) else _restored(backup, live), token)
    for value in (*IDENT.values(), EXTRA, *distinctive):
        assert value not in read_back, f"{value!r} still decrypts from the backup taken before erasure"
    raw = _raw_files(live)
    for value in (*IDENT.values(), EXTRA, SUBJECT):
        assert value.encode() not in raw


_SCRATCH: list[Any] = []


def _restored(dump: str, live: LiveServer) -> str:
    """The PostgreSQL dump restored into a scratch database (dropped at the end of the module)."""
    url, drop = pg_restore_scratch(live.process.database_url, Path(dump))
    _SCRATCH.append(drop)
    return url


@pytest.fixture(scope="module", autouse=True)
def _drop_scratch() -> Iterator[None]:
    yield
    while _SCRATCH:
        _SCRATCH.pop()()


def _zip(live: LiveServer, path: str) -> bytes:
    import httpx

    headers = live.client._headers("GET", path, b"")
    response = httpx.get(f"{live.process.url}{path}", headers=headers, timeout=120)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/zip"
    return response.content


@pytest.mark.skipif(FAKETIME is None, reason="needs faketime (apt-get install faketime) to move the CLI's clock")
def test_retention_with_the_clock_moved(live_server: LiveServer, media: dict[str, bytes]) -> None:
    live, client = live_server, live_server.client
    collection = client.post("/v1/collections", {"name": "officer-retention"}).body["collection_id"]
    enrol = {"subject_id": LATER, "image": b64(media["face"]), "identification": IDENT}
    assert client.post(f"/v1/collections/{collection}/subjects", enrol).status == 200

    def purge(shift: str) -> dict[str, Any]:
        done = cli(live, "purge", "--json", shift=shift)
        assert done.returncode == 0, done.stderr[-2000:]
        return dict(json.loads(done.stdout))

    assert purge("+71h")["counts"]["enrolment_identification"] == 0
    assert IDENT["name"] in _values(_export(live, LATER))  # within its 72 hours: kept
    assert purge("+73h")["counts"]["enrolment_identification"] == 1
    kept = _export(live, LATER)
    assert all(value not in _values(kept) for value in IDENT.values())  # identification gone...
    assert live.db.subject_count(collection, LATER) == 1  # ...the template stays
    assert purge("+731d")["counts"]["face_templates"] == 1
    assert live.db.subject_count(collection, LATER) == 0  # templates go after two years
    done = cli(live, "audit", "verify", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["ok"], done.stdout + done.stderr


# --- the audit log, tampered with in the served database -----------------------------------------------


def _audit_rows(live: LiveServer) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from openkyc.store.models.privacy import AuditRecord

    with live.db.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(AuditRecord.__table__).order_by("seq"))]


def _restore(live: LiveServer, rows: list[dict[str, Any]]) -> None:
    from openkyc.store.models.privacy import AuditRecord

    table = AuditRecord.__table__
    with live.db.engine.begin() as connection:
        connection.execute(table.delete())
        connection.execute(table.insert(), rows)


def _rehash(rows: list[dict[str, Any]], start: int) -> None:
    """What a forger with database access does: recompute every hash from index ``start`` on."""
    from openkyc.privacy import audit

    prev = rows[start - 1]["hash"] if start else audit.GENESIS_HASH
    for row in rows[start:]:
        row["prev_hash"] = prev
        fields = ("seq", "created_at", "app_id", "actor", "event_type", "details", "prev_hash")
        row["hash"] = audit.record_hash(**{k: row[k] for k in fields})
        prev = row["hash"]


def _edited(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows[1]["actor"] = "someone-else"
    return rows


def _recomputed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows[1]["details"] = {"action": "nothing"}
    _rehash(rows, 1)
    return rows


def _middle_deleted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows[:1] + rows[2:]


def _truncated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows[:-2]


def _forged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from datetime import timedelta

    from openkyc.privacy import audit

    last = rows[-1]
    forged = {
        **last,
        "id": last["id"] + 1,
        "seq": last["seq"] + 1,
        "created_at": last["created_at"] + timedelta(seconds=1),
        "actor": "admin",
        "event_type": "erasure",
        "details": {"receipt_id": "forged"},
        "prev_hash": last["hash"],
        "mac": "0" * 64,
    }
    fields = ("seq", "created_at", "app_id", "actor", "event_type", "details", "prev_hash")
    forged["hash"] = audit.record_hash(**{k: forged[k] for k in fields})
    return [*rows, forged]


@pytest.mark.parametrize("tamper", [_edited, _recomputed, _middle_deleted, _truncated, _forged])
def test_audit_verify_detects_tampering_in_the_served_database(live_server: LiveServer, tamper: Any) -> None:
    live = live_server
    for _ in range(3):  # each rule created is an audit record
        assert live.client.post("/v1/rules", {"name": f"audited-{uuid.uuid4().hex[:8]}"}).status == 200
    done = cli(live, "audit", "checkpoint", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    original = _audit_rows(live)
    assert len(original) >= 4
    clean = cli(live, "audit", "verify", "--json")
    assert clean.returncode == 0 and json.loads(clean.stdout)["ok"], clean.stdout
    try:
        _restore(live, tamper([dict(r) for r in original]))
        broken = cli(live, "audit", "verify", "--json")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        report = json.loads(broken.stdout)
        assert report["ok"] is False and report["reason"], report
    finally:
        _restore(live, original)
    again = cli(live, "audit", "verify", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["ok"], again.stdout  # restored: clean again


# --- staff users and offboarding, with the command line -------------------------------------------------


def test_users_export_and_erase_then_offboarding_erases_the_account(live_server: LiveServer) -> None:
    live = live_server
    user = f"officer-staff-{uuid.uuid4().hex[:6]}"
    created = subprocess.run(
        openkyc_command("users", "create", "--user-name", user, "--json", "--data-dir", str(live.process.data_dir)),
        env=live.process.env,
        input="a long passphrase 1\na long passphrase 1\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    exported = cli(live, "users", "export", "--user-name", user, "--json")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert user in exported.stdout and "$argon2" not in exported.stdout  # the hash is reported, never copied
    erased = cli(live, "users", "erase", "--user-name", user, "--yes", "--json")
    assert erased.returncode == 0, erased.stdout + erased.stderr
    assert json.loads(erased.stdout)["items"]["users"] == 1
    assert cli(live, "users", "export", "--user-name", user, "--json").returncode != 0  # gone

    # offboarding: the account, its apps and all their data, with one receipt
    from sqlalchemy import func, select

    from openkyc.store.models.faces import Collection

    def collections() -> int:
        with live.db.engine.connect() as connection:
            query = select(func.count()).select_from(Collection).where(Collection.app_id == live.credential.app_id)
            return int(connection.scalar(query) or 0)

    assert live.client.post("/v1/collections", {"name": "offboarded"}).status == 200
    assert collections() >= 1
    account = live.credential.account_id
    done = cli(live, "accounts", "erase", str(account), "--yes", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    receipt = json.loads(done.stdout)
    assert live.credential.app_id in receipt["app_ids"] and receipt["app_id"] == 0
    assert collections() == 0  # the app's data went with it
    refused = live.client.get("/v1/account")
    assert refused.status in {401, 403}, refused.body  # its credential no longer signs
    verified = cli(live, "audit", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stdout  # the log stays whole
