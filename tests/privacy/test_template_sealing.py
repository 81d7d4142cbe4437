"""Face templates sealed under their subject's key: the chunked reader, readers, migration 0010.

Runs on SQLite and (``-m db`` with OPENKYC_TEST_DATABASE_URL) on a fresh PostgreSQL database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from dbhelpers import scratch_postgres_database
from openkyc.biometrics.repository import SubjectRepository, template_aad
from openkyc.biometrics.templates import FaceTemplate
from openkyc.errors import PurposeNotAllowed
from openkyc.privacy.crypto import DecryptionError, Keyring, MasterKey, new_key, unseal
from openkyc.privacy.gate import InMemoryConsentLookup, PurposeGate
from openkyc.privacy.policy import load_policy
from openkyc.privacy.vocabulary import Purpose
from openkyc.store import db
from openkyc.store.keys import create_data_key, load_keyring
from openkyc.store.models.accounts import Account, Resource
from openkyc.store.models.faces import Collection, IndexEvent, Subject
from openkyc.store.subject_keys import SubjectKeys, attach_subject_keys

pytestmark = pytest.mark.db

T0 = datetime(2026, 1, 1, tzinfo=UTC)
APP, OTHER_APP = 10, 11


def _template(seed: int) -> bytes:
    return FaceTemplate(key_id="tk-1", bits=1024, data=bytes((seed * 7 + i) % 256 for i in range(128))).to_bytes()


@dataclass
class World:
    engine: Engine
    sessions: sessionmaker[Session]
    keys: SubjectKeys
    keyring: Keyring
    gate: PurposeGate

    def repo(self, session: Session) -> SubjectRepository:
        return SubjectRepository(session, self.gate, self.keyring)


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    server = os.environ.get("OPENKYC_TEST_DATABASE_URL")
    if not server:
        engine = db.make_engine(f"sqlite:///{tmp_path / 'sealing.db'}")
        yield engine
        engine.dispose()
        return
    with scratch_postgres_database(server, "openkyc_seal") as url:
        engine = db.make_engine(url)
        yield engine
        engine.dispose()


def _world(engine: Engine, tmp_path: Path, revision: str = "head") -> World:
    master = MasterKey(new_key())
    keys = SubjectKeys.open(f"sqlite:///{tmp_path / 'keys' / 'keys.db'}", master)
    db.upgrade(engine, revision, keys=keys)
    sessions = db.session_factory(engine)
    attach_subject_keys(sessions, keys)
    with db.transaction(sessions) as session:
        create_data_key(session, master)
        keyring = load_keyring(session, master)
        for app in (APP, OTHER_APP):
            session.add(Account(id=app, name=f"acc{app}", created_at=T0))
            session.flush()
            # plain SQL: the App model has columns later revisions added (the world may stop at 0009)
            session.execute(
                text("INSERT INTO apps (id, account_id, name, created_at) VALUES (:id, :id, 'app', :t)"),
                {"id": app, "t": T0},
            )
            for col in (f"col-{app}-a", f"col-{app}-b"):
                session.add(Resource(id=col, app_id=app, kind="collection", name=col, created_at=T0))
                session.flush()
                session.add(Collection(id=col, app_id=app, duplicate_check=False, embedder="sface", created_at=T0))
    keyring.resolver = keys.key
    return World(engine, sessions, keys, keyring, PurposeGate(load_policy(), InMemoryConsentLookup()))


@pytest.fixture
def world(empty_engine: Engine, tmp_path: Path) -> Iterator[World]:
    made = _world(empty_engine, tmp_path)
    yield made
    made.keys.close()


def _enrol(world: World, app: int, col: str, subject: str, seed: int) -> int:
    with db.transaction(world.sessions) as session:
        row = world.repo(session).add(
            app, col, subject, template=_template(seed), template_version=1, key_id="tk-1",
            identification=None, image_blob_id=None, now=T0, purpose=Purpose.PROVIDE_FEATURES,
        )  # fmt: skip
        return row.id


class CountingKeys:
    """Counts the key-store reads (``SubjectKeys.keys`` calls) a reader makes."""

    def __init__(self, keys: SubjectKeys, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[int] = []
        original = keys.keys

        def counted(key_ids: Any) -> dict[str, bytes]:
            wanted = list(key_ids)
            self.calls.append(len(set(wanted)))
            return original(wanted)

        monkeypatch.setattr(keys, "keys", counted)


def test_every_stored_template_is_sealed_under_its_subjects_key(world: World) -> None:
    row_id = _enrol(world, APP, f"col-{APP}-a", "ada", 1)
    with world.engine.connect() as c:
        stored, sealed_id, ref = c.execute(
            select(Subject.template, Subject.subject_id_enc, Subject.subject_id).where(Subject.id == row_id)
        ).one()
    stored, sealed_id = bytes(stored), bytes(sealed_id)
    assert stored[:2] == b"K1" and _template(1) not in stored and _template(1)[-64:] not in stored
    assert stored[3 : 3 + stored[2]] == sealed_id[3 : 3 + sealed_id[2]]  # the same (subject's) key
    key = world.keys.key(stored[3 : 3 + stored[2]].decode())
    assert key is not None
    assert unseal(key, stored, template_aad(APP, f"col-{APP}-a", ref)) == _template(1)
    with pytest.raises(DecryptionError):  # moved to another row (other collection), it does not open
        unseal(key, stored, template_aad(APP, f"col-{APP}-b", ref))


def test_iter_templates_pages_by_row_id_with_one_key_store_read_per_chunk(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    col = f"col-{APP}-a"
    mine = {}
    for n in range(7):
        mine[_enrol(world, APP, col, f"s{n}", n)] = _template(n)
        _enrol(world, APP, f"col-{APP}-b", f"s{n}", 100 + n)  # same subjects, another collection
        _enrol(world, OTHER_APP, f"col-{OTHER_APP}-a", f"s{n}", 200 + n)  # another app
    counting = CountingKeys(world.keys, monkeypatch)
    with db.transaction(world.sessions) as session:
        chunks = list(world.repo(session).iter_templates(APP, col, chunk_size=3, purpose=Purpose.PROVIDE_FEATURES))
    assert [len(c) for c in chunks] == [3, 3, 1]
    flat = [pair for chunk in chunks for pair in chunk]
    assert [rid for rid, _ in flat] == sorted(mine)  # ordered by row id, this collection only
    assert dict(flat) == mine  # opened: the enrolled bytes
    assert counting.calls == [3, 3, 1]  # one key-store read per chunk, every key of the chunk at once

    ordered = sorted(mine)
    with db.transaction(world.sessions) as session:
        rest = list(
            world.repo(session).iter_templates(APP, col, after_id=ordered[2], chunk_size=10_000,
                                               purpose=Purpose.PROVIDE_FEATURES)
        )  # fmt: skip
    assert [[rid for rid, _ in c] for c in rest] == [ordered[3:]]


def test_iter_templates_statements_are_keyset_pages_not_a_giant_in(world: World) -> None:
    col = f"col-{APP}-a"
    for n in range(5):
        _enrol(world, APP, col, f"s{n}", n)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM subjects" in statement:
            statements.append(statement)

    from sqlalchemy import event

    event.listen(world.engine, "before_cursor_execute", record)
    try:
        with db.transaction(world.sessions) as session:
            list(world.repo(session).iter_templates(APP, col, chunk_size=2, purpose=Purpose.PROVIDE_FEATURES))
    finally:
        event.remove(world.engine, "before_cursor_execute", record)
    assert len(statements) == 3  # 2 + 2 + 1 rows: the short page ends it
    assert all(" IN " not in s.upper() and "LIMIT" in s.upper() and "subjects.id >" in s for s in statements)


def test_readers_leave_out_shredded_subjects_and_refuse_plain_or_unallowed(world: World) -> None:
    col = f"col-{APP}-a"
    kept = _enrol(world, APP, col, "kept", 1)
    gone = _enrol(world, APP, col, "gone", 2)
    assert world.keys.destroy(APP, "gone") == 1  # an erasure's first step; the row is still there
    with db.transaction(world.sessions) as session:
        repo = world.repo(session)
        chunks = list(repo.iter_templates(APP, col, purpose=Purpose.PROVIDE_FEATURES))
        rows = repo.rows_by_id(APP, [kept, gone], purpose=Purpose.PROVIDE_FEATURES)
        listed = repo.templates(APP, col, purpose=Purpose.PROVIDE_FEATURES)
        with pytest.raises(PurposeNotAllowed):  # the gate decides at the call, before any row is read
            repo.iter_templates(APP, col, purpose=Purpose.BILLING)
        with pytest.raises(TypeError):
            repo.iter_templates(APP, col)  # type: ignore[call-arg]
    assert chunks == [[(kept, _template(1))]]
    assert rows == [(kept, col, "kept", _template(1))]
    assert listed == [(kept, "kept", _template(1))]

    with db.transaction(world.sessions) as session:
        session.execute(text("UPDATE subjects SET template = :t WHERE id = :id"), {"t": _template(1), "id": kept})
    with db.transaction(world.sessions) as session, pytest.raises(DecryptionError):
        list(world.repo(session).iter_templates(APP, col, purpose=Purpose.PROVIDE_FEATURES))


def test_migration_0010_seals_existing_templates_and_finishes_interrupted_erasures(
    empty_engine: Engine, tmp_path: Path
) -> None:
    world = _world(empty_engine, tmp_path, revision="0009")
    col = f"col-{APP}-a"
    rows = {_enrol(world, APP, col, f"s{n}", n): _template(n) for n in range(3)}
    gone = _enrol(world, APP, col, "gone", 9)
    with db.transaction(world.sessions) as session:  # as revision 0009 stored them: in plain
        for row_id, template in [*rows.items(), (gone, _template(9))]:
            session.execute(text("UPDATE subjects SET template = :t WHERE id = :id"), {"t": template, "id": row_id})
    world.keys.destroy(APP, "gone")  # erased between its two steps: key gone, row left

    with pytest.raises(RuntimeError, match="0010"):
        db.upgrade(empty_engine)  # no key store: refused, nothing changed
    db.upgrade(empty_engine, keys=world.keys)

    with db.transaction(world.sessions) as session:
        raw = {r.id: bytes(r.template) for r in session.scalars(select(Subject))}
        removal = session.scalars(select(IndexEvent).where(IndexEvent.subject_row == gone)).all()
        chunks = list(world.repo(session).iter_templates(APP, col, purpose=Purpose.PROVIDE_FEATURES))
    assert set(raw) == set(rows)  # the half-erased row is deleted, with its index event
    assert [e.op for e in removal] == ["add", "remove"]
    assert all(t[:2] == b"K1" and t[3:6] == b"sk-" for t in raw.values())
    assert dict(pair for chunk in chunks for pair in chunk) == rows

    db.downgrade(empty_engine, "0009", keys=world.keys)
    with empty_engine.connect() as c:
        plain = {r[0]: bytes(r[1]) for r in c.execute(text("SELECT id, template FROM subjects"))}
    assert plain == rows
    world.keys.close()
