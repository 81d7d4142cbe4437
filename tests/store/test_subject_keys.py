"""The key store: subject and record keys, keyed lookup hashes, destruction, master-key rotation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dbhelpers import scratch_postgres_database
from openkyc.privacy.crypto import DecryptionError, MasterKey, new_key
from openkyc.store.subject_keys import StoredKey, SubjectKeys

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _open(tmp_path: Path, master: MasterKey, name: str = "keys") -> SubjectKeys:
    return SubjectKeys.open(f"sqlite:///{tmp_path / name / 'keys.db'}", master)


def test_a_subject_has_one_key_until_it_is_destroyed(tmp_path: Path) -> None:
    keys = _open(tmp_path, MasterKey(new_key()))
    first = keys.for_subject(1, "alice")
    assert keys.for_subject(1, "alice").key_id == first.key_id and first.key_id.startswith("sk-")
    assert keys.for_subject(2, "alice").key_id != first.key_id  # another app: another subject
    sealed = first.encrypt(b"secret", b"aad")
    assert keys.key(first.key_id) == first.key and sealed[3:6] == b"sk-"

    assert keys.destroy(1, "alice") == 1
    assert keys.key(first.key_id) is None
    assert keys.destroy(1, "alice") == 0
    assert keys.key(keys.for_subject(2, "alice").key_id) is not None  # untouched
    assert keys.for_subject(1, "alice").key_id != first.key_id  # a later enrolment gets a new key
    keys.close()


def test_lookup_hashes_are_keyed_stable_and_scoped(tmp_path: Path) -> None:
    master = MasterKey(new_key())
    keys = _open(tmp_path, master)
    ref = keys.subject_ref(7, "alice")
    assert len(ref) == 64 and "alice" not in ref
    assert keys.subject_ref(8, "alice") != ref and keys.token_ref("alice") != ref
    keys.close()
    again = _open(tmp_path, master)
    assert again.subject_ref(7, "alice") == ref  # the lookup key is kept in the store
    assert _open(tmp_path, MasterKey(new_key()), "other").subject_ref(7, "alice") != ref  # and is secret
    with pytest.raises(DecryptionError):
        _open(tmp_path, MasterKey(new_key()))  # the store is unusable without its master key
    again.close()


def test_record_keys_are_destroyed_after_their_expiry(tmp_path: Path) -> None:
    keys = _open(tmp_path, MasterKey(new_key()))
    short = keys.for_record(1, NOW + timedelta(hours=2))
    long = keys.for_record(1, NOW + timedelta(hours=72))
    assert short.key_id.startswith("rk-")
    assert keys.destroy_expired(NOW + timedelta(hours=1)) == 0
    assert keys.destroy_expired(NOW + timedelta(hours=2)) == 1
    assert keys.key(short.key_id) is None and keys.key(long.key_id) == long.key
    keys.close()


def test_master_key_rotation_rewraps_the_store_and_running_processes_keep_working(tmp_path: Path) -> None:
    old, new = MasterKey(new_key()), MasterKey(new_key())
    keys = _open(tmp_path, old)
    running = _open(tmp_path, old)  # another process, started before the rotation
    key = keys.for_subject(1, "alice")
    ref = keys.subject_ref(1, "alice")
    assert keys.rewrap(new) == 1
    keys.close()
    later = running.for_subject(1, "bob")  # written by the running process after the rotation
    assert running.key(key.key_id) == key.key
    running.close()
    reopened = _open(tmp_path, new)
    assert reopened.key(key.key_id) == key.key and reopened.key(later.key_id) == later.key
    assert reopened.subject_ref(1, "alice") == ref
    with pytest.raises(DecryptionError):
        _open(tmp_path, old)  # the old master key no longer opens the store
    reopened.close()


def test_concurrent_first_use_yields_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    keys = _open(tmp_path, MasterKey(new_key()))
    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(lambda _: keys.for_subject(1, "bob").key_id, range(8)))
    assert len(ids) == 1
    keys.close()


@pytest.fixture
def pg_key_store() -> Iterator[str]:
    server = os.environ.get("OPENKYC_TEST_DATABASE_URL")
    if not server:
        pytest.skip("needs OPENKYC_TEST_DATABASE_URL (PostgreSQL)")
    with scratch_postgres_database(server, "openkyc_keys") as url:
        yield url


@pytest.mark.db
def test_postgresql_key_store_leaves_no_destroyed_key_in_its_pages(pg_key_store: str) -> None:
    """OPENKYC_KEY_STORE_URL on another PostgreSQL database: destruction rewrites the key table
    (a plain VACUUM left this row's wrapped key in the page's free space)."""
    keys = SubjectKeys.open(pg_key_store, MasterKey(new_key()))
    keys.for_subject(1, "bob")
    keys.for_subject(1, "carol")
    doomed = keys.for_subject(1, "alice")  # the last row: compaction moves nothing over it
    with keys.engine.connect() as connection:
        wrapped = connection.execute(select(StoredKey.wrapped_key).where(StoredKey.id == doomed.key_id)).scalar_one()
    assert keys.destroy(1, "alice") == 1
    with keys.engine.connect() as connection:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pageinspect")
        pages = int(connection.exec_driver_sql("SELECT pg_relation_size('subject_keys') / 8192").scalar() or 0)
        raw = b"".join(
            bytes(connection.exec_driver_sql(f"SELECT get_raw_page('subject_keys', {n})").scalar())
            for n in range(pages)
        )
    assert pages >= 1 and bytes(wrapped) not in raw and doomed.key_id.encode() not in raw
    keys.close()


def test_the_key_store_url_setting_places_the_store_apart(settings: Any, tmp_path: Path) -> None:
    """OPENKYC_KEY_STORE_URL: the keys go where it says, and nothing into the default file."""
    from openkyc.runtime import Runtime

    elsewhere = tmp_path / "elsewhere" / "keys.db"
    runtime = Runtime.open(settings.model_copy(update={"key_store_url": f"sqlite:///{elsewhere}"}), migrate=False)
    try:
        key = runtime.subject_keys.for_subject(1, "alice")
        assert elsewhere.exists() and key.key_id.encode() in elsewhere.read_bytes() + _wal(elsewhere)
        assert not (settings.data_dir / "keys" / "keys.db").exists()
    finally:
        runtime.close()


def _wal(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def _batch_keys_match_single_keys_and_shred(keys: SubjectKeys) -> None:
    existing = keys.for_subject(1, "alice")
    batch = keys.for_subjects(1, ["alice", "bob", "carol", "bob"])
    assert sorted(batch) == ["alice", "bob", "carol"]
    assert batch["alice"].key_id == existing.key_id and batch["alice"].key == existing.key  # found, not replaced
    for name in ("bob", "carol"):  # created once, then found by the one-subject path
        assert batch[name].key_id.startswith("sk-") and keys.for_subject(1, name).key == batch[name].key
    assert keys.for_subjects(1, ["bob", "carol"])["carol"].key_id == batch["carol"].key_id
    assert keys.for_subjects(2, ["bob"])["bob"].key_id != batch["bob"].key_id  # another app: another subject
    assert keys.for_subjects(1, []) == {}
    assert keys.destroy(1, "bob") == 1  # crypto-shredding unchanged for batch-created keys
    assert keys.key(batch["bob"].key_id) is None and keys.key(batch["carol"].key_id) == batch["carol"].key
    assert keys.for_subjects(1, ["bob"])["bob"].key_id != batch["bob"].key_id  # re-enrolment: a new key


def test_bulk_subject_keys_match_single_keys_and_are_shredded_alike(tmp_path: Path) -> None:
    keys = _open(tmp_path, MasterKey(new_key()))
    _batch_keys_match_single_keys_and_shred(keys)
    keys.close()


@pytest.mark.db
def test_bulk_subject_keys_on_postgresql(pg_key_store: str) -> None:
    keys = SubjectKeys.open(pg_key_store, MasterKey(new_key()))
    _batch_keys_match_single_keys_and_shred(keys)
    keys.close()


def test_bulk_subject_keys_race_with_a_concurrent_creator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process creates one of the keys between the batch's SELECT and its INSERT: the
    batch falls back to one at a time and everyone uses that process's key."""
    keys = _open(tmp_path, MasterKey(new_key()))
    other = _open(tmp_path, keys.master)
    wrapping = keys._wrapping
    made: dict[str, Any] = {}

    class Racing:  # the store's wrapping key, letting the other process in before the first wrap
        key_id = wrapping.key_id
        unwrap = staticmethod(wrapping.unwrap)

        @staticmethod
        def wrap(key_id: str, key: bytes) -> bytes:  # runs after the SELECT, before the INSERT
            if not made:
                made["dave"] = other.for_subject(1, "dave")
            return wrapping.wrap(key_id, key)

    monkeypatch.setattr(keys, "_wrapping", Racing())
    got = keys.for_subjects(1, ["dave", "erin"])
    assert got["dave"].key_id == made["dave"].key_id and got["dave"].key == made["dave"].key
    assert got["erin"].key_id.startswith("sk-") and other.for_subject(1, "erin").key == got["erin"].key
    keys.close()
    other.close()
