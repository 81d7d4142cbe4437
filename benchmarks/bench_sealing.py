"""What sealing face templates under per-subject keys costs the 1:N index loader.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_sealing.py [--subjects 20000] [--chunk 10000]
        [--database-url postgresql://...]  # default: a SQLite file in a temporary folder

Builds one collection of N enrolled subjects (random 1024-bit templates, each sealed under its own
subject key in a key store of its own SQLite file), then reads the collection three ways with the
same keyset pages: ``plain_read`` (the sealed bytes as stored, nothing opened: the database's
share), ``iter_templates`` (the repository's reader: one key-store read per chunk, each subject key
unwrapped, each template opened), and the two cryptographic steps alone on data in memory
(``unwrap_key``, ``open_template``). Prints one JSON document with a ``sealing`` section; the
per-template cost of sealing is ``iter_templates - plain_read``. Each timing is the best of
``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from openkyc.biometrics.repository import SubjectRepository, open_template, seal_template
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.crypto import Keyring, MasterKey, SealingKey, new_key
from openkyc.privacy.gate import InMemoryConsentLookup, PurposeGate
from openkyc.privacy.policy import load_policy
from openkyc.privacy.vocabulary import Purpose
from openkyc.store import db
from openkyc.store.models.accounts import Account, App, Resource
from openkyc.store.models.faces import Collection, Subject
from openkyc.store.subject_keys import StoredKey, SubjectKeys, attach_subject_keys

T0 = datetime(2026, 1, 1, tzinfo=UTC)
APP, COLLECTION = 1, "col-bench"


def _best(fn: Any, repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def build(url: str, keys: SubjectKeys, n: int) -> None:
    """N subjects, each with its own key (bulk-inserted into the key store) and a sealed template."""
    engine = db.make_engine(url)
    db.upgrade(engine, keys=keys)
    sessions = db.session_factory(engine)
    wrapping = keys._wrapping  # the store's wrapping key, to bulk-create subject keys as for_subject does
    with db.transaction(sessions) as session:
        session.add(Account(id=APP, name="bench", created_at=T0))
        session.flush()
        session.add(App(id=APP, account_id=APP, name="bench", created_at=T0))
        session.flush()
        session.add(Resource(id=COLLECTION, app_id=APP, kind="collection", name="bench", created_at=T0))
        session.flush()
        session.add(Collection(id=COLLECTION, app_id=APP, duplicate_check=False, embedder="sface", created_at=T0))
    key_rows, subject_rows = [], []
    for i in range(n):
        subject_id = f"subject-{i:08d}"
        ref = keys.subject_ref(APP, subject_id)
        key = SealingKey("sk-" + secrets.token_hex(12), new_key())
        key_rows.append(
            {"id": key.key_id, "owner_ref": ref, "app_id": APP, "wrapped_key": wrapping.wrap(key.key_id, key.key),
             "wrapped_by": wrapping.key_id, "created_at": T0, "expires_at": None}
        )  # fmt: skip
        template = FaceTemplate(key_id="tk-bench", bits=1024, data=os.urandom(128)).to_bytes()
        subject_rows.append(
            {"collection_id": COLLECTION, "app_id": APP, "subject_id": ref,
             "subject_id_enc": key.encrypt_text(subject_id, f"subject-id:{APP}:{ref}".encode()),
             "template": seal_template(key, APP, COLLECTION, ref, template), "template_version": 1,
             "key_id": "tk-bench", "identification_enc": None, "image_blob_id": None, "created_at": T0}
        )  # fmt: skip
    with keys.engine.begin() as c:
        c.execute(StoredKey.__table__.insert(), key_rows)
    with engine.begin() as c:
        c.execute(Subject.__table__.insert(), subject_rows)
    engine.dispose()


def measure(url: str, keys: SubjectKeys, n: int, chunk: int, repeat: int) -> dict[str, Any]:
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    attach_subject_keys(sessions, keys)
    keyring = Keyring(active_id="", keys={}, resolver=keys.key)
    gate = PurposeGate(load_policy(), InMemoryConsentLookup())

    def plain_read() -> int:
        count, last = 0, 0
        with db.transaction(sessions) as session:
            while True:
                rows = session.execute(
                    select(Subject.id, Subject.subject_id, Subject.template)
                    .where(Subject.app_id == APP, Subject.collection_id == COLLECTION, Subject.id > last)
                    .order_by(Subject.id)
                    .limit(chunk)
                ).all()
                if not rows:
                    return count
                count += len(rows)
                last = rows[-1][0]

    def sealed_read() -> int:
        with db.transaction(sessions) as session:
            repo = SubjectRepository(session, gate, keyring)
            return sum(
                len(c) for c in repo.iter_templates(APP, COLLECTION, chunk_size=chunk, purpose=Purpose.PROVIDE_FEATURES)
            )

    plain_s, plain_n = _best(plain_read, repeat)
    sealed_s, sealed_n = _best(sealed_read, repeat)
    assert plain_n == sealed_n == n, (plain_n, sealed_n, n)

    # the two cryptographic steps alone, on values already in memory
    with db.transaction(sessions) as session:
        sample = session.execute(
            select(Subject.subject_id, Subject.template).order_by(Subject.id).limit(min(n, 5000))
        ).all()
    with keys.engine.connect() as c:
        wrapped = [
            (r[0], bytes(r[1])) for r in c.execute(select(StoredKey.id, StoredKey.wrapped_key).limit(len(sample)))
        ]
    wrapping = keys._wrapping
    unwrap_s, _ = _best(lambda: [wrapping.unwrap(k, w) for k, w in wrapped], repeat)
    found = keys.keys(bytes(t)[3 : 3 + bytes(t)[2]].decode() for _, t in sample)
    open_s, _ = _best(lambda: [open_template(found, APP, COLLECTION, ref, bytes(t)) for ref, t in sample], repeat)
    engine.dispose()
    per = 1e6 / n
    return {
        "backend": engine.dialect.name,
        "templates": n,
        "chunk_size": chunk,
        "plain_read_s": round(plain_s, 4),
        "iter_templates_s": round(sealed_s, 4),
        "plain_read_us_per_template": round(plain_s * per, 2),
        "iter_templates_us_per_template": round(sealed_s * per, 2),
        "unsealing_us_per_template": round((sealed_s - plain_s) * per, 2),
        "unwrap_key_us": round(unwrap_s * 1e6 / len(wrapped), 2),
        "open_template_us": round(open_s * 1e6 / len(sample), 2),
        "projected_1m_templates_s": round((sealed_s - plain_s) / n * 1_000_000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        keys = SubjectKeys.open(f"sqlite:///{Path(folder) / 'keys.db'}", MasterKey(new_key()))
        try:
            build(url, keys, args.subjects)
            result = measure(url, keys, args.subjects, args.chunk, args.repeat)
        finally:
            keys.close()
    print(json.dumps({"sealing": result}, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
