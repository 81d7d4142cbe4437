"""Paging speed of the management API's lists, in one process over signed HTTP (FastAPI TestClient).

    .venv/bin/python benchmarks/bench_management.py [--subjects 2000] [--verifications 2000] [--limit 200]

Seeds a fresh SQLite data directory with ``--subjects`` enrolled subjects (synthetic 1024-bit
templates: listing never reads a face, so no photo is needed; each subject has its own sealed id
and key, as enrolment makes them) and ``--verifications`` stored results, then pages through
``GET /v1/collections/{id}/subjects`` and ``GET /v1/verifications`` with ``--limit`` rows per page.
Prints one JSON document: pages, rows, and the median and worst page time in milliseconds, and
whether every row was seen exactly once.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from openkyc.accounts import service as accounts
from openkyc.accounts.signing import sign_request
from openkyc.api.app import create_app
from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.vocabulary import Purpose
from openkyc.runtime import Runtime
from openkyc.settings import Settings
from openkyc.store.models.accounts import Resource
from openkyc.store.models.faces import Collection
from openkyc.verification.repository import ResultRepository


def _signed(client: TestClient, cred: dict[str, Any], path: str) -> Any:
    route, _, query = path.partition("?")
    headers = sign_request(
        cred["secret_id"], cred["secret_key"], method="GET", path=route, query=query, host="testserver",
        body=b"", timestamp=int(time.time()), extra_signed_headers={"X-TC-Nonce": uuid.uuid4().hex},
    )  # fmt: skip
    return client.get(path, headers=headers)


def _walk(client: TestClient, cred: dict[str, Any], path: str, key: str, limit: int) -> dict[str, Any]:
    times, seen, cursor = [], [], None
    while True:
        url = f"{path}?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        start = time.perf_counter()
        answer = _signed(client, cred, url)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen.extend(body[key])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    ids = [json.dumps(row, sort_keys=True) for row in seen]
    return {
        "pages": len(times),
        "rows": len(seen),
        "each_row_once": len(set(ids)) == len(ids),
        "page_ms_median": round(statistics.median(times), 1),
        "page_ms_max": round(max(times), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--verifications", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-management-"))
    settings = Settings(
        data_dir=data_dir, master_key=base64.b64encode(secrets.token_bytes(32)).decode(), environment="test",
        preload_models=False, log_level="WARNING",
    )  # fmt: skip
    runtime = Runtime.open(settings)
    try:
        started = time.perf_counter()
        with runtime.transaction() as session:
            account = accounts.create_account(session, "bench")
            app = accounts.create_app(session, account.id, "bench")
            issued = accounts.create_credential(session, runtime.keyring, app.id)
            now = runtime.clock()
            session.add(Resource(id="col-bench", app_id=app.id, kind="collection", name="bench", created_at=now))
            session.flush()
            session.add(
                Collection(id="col-bench", app_id=app.id, duplicate_check=False, embedder="sface", created_at=now)
            )
            repo = SubjectRepository(session, runtime.gate, runtime.keyring)
            for i in range(args.subjects):
                repo.add(
                    app.id, "col-bench", f"subject-{i:06d}", template=FaceTemplate("bench", 1024, secrets.token_bytes(128)).to_bytes(), template_version=1,
                    key_id="bench", identification=None, image_blob_id=None, now=now - timedelta(seconds=i),
                    purpose=Purpose.PROVIDE_FEATURES,
                )  # fmt: skip
            results = ResultRepository(session, runtime.gate, runtime.keyring)
            for i in range(args.verifications):
                results.add(
                    app.id, kind="selfie", subject_id=None, result_code="Success", live=True, sim=90.0, details={},
                    identification=None, now=now - timedelta(seconds=i), expires_at=now + timedelta(days=1),
                    purpose=Purpose.PROVIDE_FEATURES,
                )  # fmt: skip
        seeded = time.perf_counter() - started
        cred = {"secret_id": issued.secret_id, "secret_key": issued.secret_key}
        with TestClient(create_app(settings, runtime)) as client:
            report = {
                "subjects": args.subjects,
                "verifications": args.verifications,
                "limit": args.limit,
                "seed_seconds": round(seeded, 1),
                "list_subjects": _walk(client, cred, "/v1/collections/col-bench/subjects", "subjects", args.limit),
                "list_verifications": _walk(client, cred, "/v1/verifications", "verifications", args.limit),
            }
    finally:
        runtime.close()
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
