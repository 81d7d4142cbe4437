"""Bulk-inserted enrolled subjects, sealed as ``SubjectRepository.add`` seals them (one subject key
each, in the key store; the template and the subject id sealed under it), for the index's scale
and snapshot tests: adding hundreds of thousands through the repository would take minutes."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import numpy as np

from openkyc.biometrics.repository import seal_template
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.crypto import SealingKey, new_key
from openkyc.store.models.faces import Subject
from openkyc.store.subject_keys import StoredKey


def insert_sealed(runtime: Any, app_id: int, collection_id: str, codes: np.ndarray, first: int = 0,
                  key_id: str = "tk-s") -> None:  # fmt: skip
    """Subjects ``h{first + i}`` with the templates ``codes[i]`` (1024-bit)."""
    keys = runtime.subject_keys
    wrapping = keys._wrapping  # as SubjectKeys.for_subject wraps a new key
    now = datetime.now(UTC)
    for start in range(0, len(codes), 50_000):
        key_rows, subject_rows = [], []
        for i in range(start, min(len(codes), start + 50_000)):
            subject_id = f"h{first + i}"
            ref = keys.subject_ref(app_id, subject_id)
            key = SealingKey("sk-" + secrets.token_hex(12), new_key())
            key_rows.append(
                {"id": key.key_id, "owner_ref": ref, "app_id": app_id, "wrapped_key": wrapping.wrap(key.key_id, key.key),
                 "wrapped_by": wrapping.key_id, "created_at": now, "expires_at": None}
            )  # fmt: skip
            template = FaceTemplate(key_id, 1024, codes[i].tobytes()).to_bytes()
            subject_rows.append(
                {"collection_id": collection_id, "app_id": app_id, "subject_id": ref,
                 "subject_id_enc": key.encrypt_text(subject_id, f"subject-id:{app_id}:{ref}".encode()),
                 "template": seal_template(key, app_id, collection_id, ref, template), "template_version": 1,
                 "key_id": key_id, "identification_enc": None, "image_blob_id": None, "created_at": now}
            )  # fmt: skip
        with keys.engine.begin() as connection:
            connection.execute(StoredKey.__table__.insert(), key_rows)
        with runtime.engine.begin() as connection:
            connection.execute(Subject.__table__.insert(), subject_rows)
