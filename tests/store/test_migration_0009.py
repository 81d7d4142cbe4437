"""Migration 0009: stored subject ids and BizTokens become keyed hashes; sealed data moves to subject keys.

Runs on SQLite and, with OPENKYC_TEST_DATABASE_URL, on a fresh PostgreSQL database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select, text

from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.crypto import MasterKey, new_key
from openkyc.privacy.gate import InMemoryConsentLookup, PurposeGate
from openkyc.privacy.policy import load_policy
from openkyc.privacy.vocabulary import Purpose
from openkyc.store import db
from openkyc.store.keys import create_data_key, load_keyring
from openkyc.store.models.verification import VerificationSession
from openkyc.store.subject_keys import SubjectKeys, attach_subject_keys
from openkyc.verification.repository import ResultRepository

pytestmark = pytest.mark.db

T0 = datetime(2026, 1, 1, tzinfo=UTC)
IDENT = {"name": "Ada Legacy", "id_number": "L1234567"}
TOKEN = "legacy-biz-token-abcdefghijklmnop"


def _seed(engine: Engine, master: MasterKey) -> None:
    """Rows as revision 0008 wrote them: plain subject ids and tokens, sealed under a shared key."""
    sessions = db.session_factory(engine)
    with db.transaction(sessions) as session:
        create_data_key(session, master)
        keyring = load_keyring(session, master)
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    template = FaceTemplate(key_id="tk-1", bits=1024, data=bytes(128)).to_bytes()
    with engine.begin() as c:
        c.execute(t["accounts"].insert(), [{"id": 1, "name": "acc", "created_at": T0}])
        c.execute(t["apps"].insert(), [{"id": 10, "account_id": 1, "name": "app", "created_at": T0}])
        c.execute(t["resources"].insert(), [{"id": "col-1", "app_id": 10, "kind": "collection", "name": "people",
                                             "created_at": T0}])  # fmt: skip
        c.execute(t["collections"].insert(), [{"id": "col-1", "app_id": 10, "duplicate_check": False,
                                               "embedder": "sface", "created_at": T0}])  # fmt: skip
        c.execute(
            t["subjects"].insert(),
            [
                {
                    "collection_id": "col-1", "app_id": 10, "subject_id": "legacy-subject", "template": template,
                    "template_version": 1, "key_id": "tk-1", "image_blob_id": None, "created_at": T0,
                    "identification_enc": keyring.encrypt(
                        json.dumps(IDENT, sort_keys=True).encode(), b"subject:10:col-1:legacy-subject"
                    ),
                }
            ],
        )  # fmt: skip
        c.execute(
            t["verification_results"].insert(),
            [
                {"id": "ver-1", "app_id": 10, "kind": "identity", "subject_id": "legacy-subject",
                 "result_code": "Success", "live": True, "sim": 90.0, "details": {}, "created_at": T0,
                 "expires_at": T0 + timedelta(days=3),
                 "identification_enc": keyring.encrypt(json.dumps(IDENT, sort_keys=True).encode(),
                                                       b"verification:ver-1:10")},
                {"id": "ver-2", "app_id": 10, "kind": "identity", "subject_id": None, "result_code": "Success",
                 "live": True, "sim": 90.0, "details": {}, "created_at": T0, "expires_at": T0 + timedelta(days=3),
                 "identification_enc": keyring.encrypt(b'{"name": "Anon"}', b"verification:ver-2:10")},
            ],
        )  # fmt: skip
        c.execute(t["blobs"].insert(), [{"id": "bl-1", "app_id": 10, "kind": "face_image",
                                         "subject_id": "legacy-subject", "size": 3, "created_at": T0,
                                         "expires_at": T0 + timedelta(hours=2), "key_version": 1}])  # fmt: skip
        c.execute(t["consents"].insert(), [{"app_id": 10, "subject_id": "legacy-subject",
                                            "purpose": "model_improvement", "text_version": "v1",
                                            "granted_at": T0, "withdrawn_at": None}])  # fmt: skip
        c.execute(t["model_improvement_items"].insert(), [{"app_id": 10, "subject_id": "legacy-subject",
                                                           "consent_id": 1, "kind": "face_image:x",
                                                           "blob_ref": "bl-1", "created_at": T0}])  # fmt: skip
        c.execute(
            t["verification_sessions"].insert(),
            [{"biz_token": TOKEN, "app_id": 10, "rule_id": None, "redirect_url": "https://example.invalid/",
              "compare_blob_id": None, "actions": [], "state": "created", "attempts": 0, "result_id": None,
              "created_at": T0, "expires_at": T0 + timedelta(hours=1),
              "extra_enc": keyring.encrypt(b"order-42", f"session:{TOKEN}:10".encode())}],
        )  # fmt: skip


def test_upgrade_hashes_ids_and_reseals_under_subject_keys(fresh_engine: Engine, tmp_path: Path) -> None:
    master = MasterKey(new_key())
    db.upgrade(fresh_engine, "0008")
    _seed(fresh_engine, master)
    with pytest.raises(RuntimeError, match="0009"):
        db.upgrade(fresh_engine)  # no key store: refused, nothing converted
    keys = SubjectKeys.open(f"sqlite:///{tmp_path / 'keys' / 'keys.db'}", master)
    db.upgrade(fresh_engine, keys=keys)

    with fresh_engine.connect() as c:
        stored = [r[0] for r in c.exec_driver_sql("SELECT subject_id FROM subjects")]
        stored += [r[0] for r in c.exec_driver_sql("SELECT subject_id FROM blobs")]
        stored += [r[0] for r in c.exec_driver_sql("SELECT subject_id FROM consents")]
        stored += [r[0] for r in c.exec_driver_sql("SELECT subject_id FROM model_improvement_items")]
        tokens = [r[0] for r in c.exec_driver_sql("SELECT biz_token FROM verification_sessions")]
        sealed = c.exec_driver_sql("SELECT identification_enc FROM subjects").scalar()
    assert stored == [keys.subject_ref(10, "legacy-subject")] * 4
    assert tokens == [keys.token_ref(TOKEN)]
    assert bytes(sealed)[3:6] == b"sk-"  # re-sealed under the subject's key: erasure shreds it

    sessions = db.session_factory(fresh_engine)
    attach_subject_keys(sessions, keys)
    with db.transaction(sessions) as session:
        keyring = load_keyring(session, master)
    keyring.resolver = keys.key
    gate = PurposeGate(load_policy(), InMemoryConsentLookup())
    with db.transaction(sessions) as session:
        repo = SubjectRepository(session, gate, keyring)
        found = repo.of_subject(10, "legacy-subject", purpose=Purpose.PROVIDE_FEATURES)
        rows = repo.rows_by_id(10, [1], purpose=Purpose.PROVIDE_FEATURES)
        results = ResultRepository(session, gate, keyring).of_subject(
            10, "legacy-subject", purpose=Purpose.PROVIDE_FEATURES
        )
        anonymous = ResultRepository(session, gate, keyring).get(10, "ver-2", now=T0, purpose=Purpose.PROVIDE_FEATURES)
        assert ConsentRepository(session, gate).has_consent(
            10, "legacy-subject", Purpose.MODEL_IMPROVEMENT, purpose=Purpose.MODEL_IMPROVEMENT
        )
        row: Any = session.get(VerificationSession, keys.token_ref(TOKEN))
        assert keyring.decrypt(row.extra_enc, f"session:{TOKEN}:10".encode()) == b"order-42"  # shared key: opens
    assert found[0]["identification"] == IDENT
    assert rows[0][2] == "legacy-subject"  # search answers still name the subject
    assert results[0]["subject_id"] == "legacy-subject" and results[0]["identification"] == IDENT
    assert anonymous["identification"] == {"name": "Anon"}

    assert keys.destroy(10, "legacy-subject") == 1
    with db.transaction(sessions) as session:
        assert (
            SubjectRepository(session, gate, keyring).of_subject(
                10, "legacy-subject", purpose=Purpose.PROVIDE_FEATURES
            )[0]["identification"]
            is None
        )  # shredded
    keys.close()


def test_upgrade_of_an_empty_database_needs_no_keys(fresh_engine: Engine) -> None:
    db.upgrade(fresh_engine)
    with fresh_engine.connect() as c:
        version = c.execute(select(text("version_num")).select_from(text("alembic_version"))).scalar()
    from alembic.script import ScriptDirectory

    assert version == ScriptDirectory.from_config(db.alembic_config(fresh_engine)).get_current_head()
