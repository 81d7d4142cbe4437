"""`/v1/health/ready`: 200 once start-up loaded the index and the models, 503 before; no signature."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.vocabulary import Purpose


def test_ready_after_start_up_with_the_index_loaded(tenant: Any, runtime: Any, client: Any) -> None:
    col = tenant.post("/v1/collections", {"name": "r"}).json()["collection_id"]
    with runtime.transaction() as session:
        for i in range(3):
            code = np.random.default_rng(i).integers(0, 256, 128, dtype=np.uint8).tobytes()
            SubjectRepository(session, runtime.gate, runtime.keyring).add(
                tenant.app_id, col, f"s{i}", template=FaceTemplate("tk-r", 1024, code).to_bytes(), template_version=1,
                key_id="tk-r", identification=None, image_blob_id=None, now=datetime.now(UTC),
                purpose=Purpose.PROVIDE_FEATURES,
            )  # fmt: skip
    with runtime.transaction() as session:
        runtime.face_index.load(session, SubjectRepository(session, runtime.gate, runtime.keyring))
    answer = client.get("/v1/health/ready")  # unsigned
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ready"] is True and body["templates_in_index"] == 3 and body["index_bytes"] == 3 * 136
    assert client.get("/v1/health").json()["ready"] is True

    runtime.components["ready"] = False  # as during start-up
    answer = client.get("/v1/health/ready")
    assert answer.status_code == 503 and answer.json()["ready"] is False
