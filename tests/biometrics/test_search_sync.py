"""The process index follows the database, including events committed out of id order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.search import IndexManager
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.faces import IndexEvent, Subject


def _template(seed: int) -> bytes:
    bits = np.random.default_rng(seed).integers(0, 256, 128, dtype=np.uint8).tobytes()
    return FaceTemplate("tk-test", 1024, bits).to_bytes()


def test_late_committed_event_below_the_seen_id_is_applied(tenant: Any, runtime: Any) -> None:
    col = tenant.post("/v1/collections", {"name": "c"}).json()["collection_id"]
    now = datetime.now(UTC)
    manager = IndexManager()
    with runtime.transaction() as session:
        repo = SubjectRepository(session, runtime.gate, runtime.keyring)
        first = repo.add(
            tenant.app_id,
            col,
            "a",
            template=_template(1),
            template_version=1,
            key_id="tk-test",
            identification=None,
            image_blob_id=None,
            now=now,
            purpose=Purpose.PROVIDE_FEATURES,
        )
        second = repo.add(
            tenant.app_id,
            col,
            "b",
            template=_template(2),
            template_version=1,
            key_id="tk-test",
            identification=None,
            image_blob_id=None,
            now=now,
            purpose=Purpose.PROVIDE_FEATURES,
        )
        # pretend the event of "a" was not committed yet when another process synced
        late = session.query(IndexEvent).filter_by(subject_row=first.id).one()
        late_id = late.id
        session.delete(late)
    with runtime.transaction() as session:
        manager.sync(session, SubjectRepository(session, runtime.gate, runtime.keyring), tenant.app_id)
    assert manager.size(col) == 2  # the rows themselves are read: both are committed
    with runtime.transaction() as session:  # "a" is removed by an event that commits late, with its lower id
        session.delete(session.get(Subject, first.id))
        session.add(IndexEvent(id=late_id, collection_id=col, subject_row=first.id, op="remove", created_at=now))
    with runtime.transaction() as session:
        manager.sync(session, SubjectRepository(session, runtime.gate, runtime.keyring), tenant.app_id)
    assert manager.size(col) == 1
    found = manager.search(col, {"tk-test": FaceTemplate.from_bytes(_template(1))}, 5)
    assert [m.id for m in found] == [second.id]
