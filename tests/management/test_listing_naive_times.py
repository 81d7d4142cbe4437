"""Found trying the management API as a new operator: ``GET /v1/verifications?since=`` with a time
without an offset (``2026-11-30T10:00:00``) or a bare date answered 500 (a naive datetime reached a
UTC column). Such a time is UTC, as every time the API answers."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from openkyc.store.models.verification import VerificationResult


def test_since_and_until_without_an_offset_are_utc(tenant: Any, runtime: Any, shared_data: Path) -> None:
    video = base64.b64encode((shared_data / "grid-talking-face-videos" / "bbaf2n.mpg").read_bytes()).decode()
    checked = tenant.post("/v1/liveness", {"video": video})
    assert checked.status_code == 200, checked.text
    with runtime.transaction() as session:
        created = session.query(VerificationResult).one().created_at
    before, after = created - timedelta(minutes=1), created + timedelta(minutes=1)
    naive = "%Y-%m-%dT%H:%M:%S"
    cases = {
        f"since={before.strftime(naive)}": 1,
        f"since={after.strftime(naive)}": 0,
        f"until={after.strftime(naive)}": 1,
        f"until={before.strftime(naive)}": 0,
        f"since={created.strftime('%Y-%m-%d')}": 1,  # a date: its midnight, UTC
        f"since={quote(before.isoformat())}": 1,  # with an offset, as before
        f"since={quote(after.isoformat())}": 0,
    }
    for query, expected in cases.items():
        answer = tenant.get(f"/v1/verifications?{query}")
        assert answer.status_code == 200, f"{query}: {answer.text}"
        assert len(answer.json()["verifications"]) == expected, query
