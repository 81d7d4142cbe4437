"""End to end: no personal data in files or logs, erasure, consent refusal, tamper-evident audit log."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from wiring_helpers import b64

from openkyc.privacy.redaction import sensitive_values
from openkyc.store.models.privacy import AuditRecord

pytestmark = pytest.mark.slow

NAME = "Philippa Grantchester-Oyelaran"
ID_NUMBER = "ZQ7314859"
BIRTH = "1984-11-07"
PLANTED = (NAME, ID_NUMBER, BIRTH)


def _data_files(settings: Any) -> list[Path]:
    """The SQLite file, its WAL and journal, and every blob under the data directory."""
    return [p for p in settings.data_dir.rglob("*") if p.is_file()]


def _find(paths: list[Path], needles: tuple[str, ...]) -> list[tuple[str, str]]:
    hits = []
    for path in paths:
        data = path.read_bytes()
        for needle in needles:
            for encoded in {needle.encode(), needle.encode("utf-16-le")}:
                if encoded in data:
                    hits.append((path.name, needle))
    return hits


@pytest.fixture
def service_log(client: Any) -> Iterator[io.StringIO]:
    """What the service's own log handler (installed by the app lifespan) writes, as JSON lines."""
    handlers = [h for h in logging.getLogger("openkyc").handlers if getattr(h, "_openkyc", False)]
    assert len(handlers) == 1 and isinstance(handlers[0], logging.StreamHandler)
    buffer = io.StringIO()
    previous = handlers[0].setStream(buffer)
    yield buffer
    handlers[0].setStream(previous)


def test_main_flows_log_no_personal_data(
    tenant: Any,
    service_log: io.StringIO,
    photos: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    assert logging.getLogger("openkyc").getEffectiveLevel() == logging.DEBUG
    photo = b64(photos["obama"].read_bytes())
    collection_id = tenant.post("/v1/collections", {"name": "people"}).json()["collection_id"]
    enrolled = tenant.post(
        f"/v1/collections/{collection_id}/subjects",
        {
            "subject_id": "subj-log",
            "image": photo,
            "identification": {"name": NAME, "id_number": ID_NUMBER, "date_of_birth": BIRTH},
            "retain_image": True,
        },
    )
    assert enrolled.status_code == 200, enrolled.text
    compared = tenant.post("/v1/faces/compare", {"image_a": photo, "image_b": b64(photos["obama2"].read_bytes())})
    assert compared.status_code == 200 and compared.json()["match"] is True
    searched = tenant.post(f"/v1/collections/{collection_id}/search", {"image": photo})
    assert searched.json()["matches"][0]["subject_id"] == "subj-log"
    exported = tenant.get("/v1/privacy/subjects/subj-log")
    assert NAME in exported.text  # the subject's own export holds the data ...
    assert tenant.post("/v1/privacy/subjects/subj-log/erase").status_code == 200

    # the redaction filter on the service's handler works end to end, even if code slips
    with sensitive_values([NAME]):
        logging.getLogger("openkyc.test").warning("slip: %s %s %s", NAME, ID_NUMBER, photo[:200])

    logged = caplog.text
    captured = capsys.readouterr()
    written = service_log.getvalue()
    assert '"msg": "request"' in written and "slip:" in written  # the service's handler did write
    for text in (written, captured.out, captured.err):
        for value in (*PLANTED, photo[:80], photo[5000:5080]):
            assert value not in text, value
    slip_free = "\n".join(line for line in logged.splitlines() if "slip:" not in line)
    for value in (*PLANTED, photo[:80], photo[5000:5080]):
        assert value not in slip_free, value  # ... but nothing the service logs on its own holds it


def test_held_out_scenario(
    tenant: Any, runtime: Any, settings: Any, cli: Any, photos: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    collection_id = tenant.post("/v1/collections", {"name": "people"}).json()["collection_id"]
    enrolled = tenant.post(
        f"/v1/collections/{collection_id}/subjects",
        {
            "subject_id": "subj-held-out",
            "image": b64(photos["obama"].read_bytes()),
            "identification": {"name": NAME, "id_number": ID_NUMBER},
            "retain_image": True,
        },
    )
    assert enrolled.status_code == 200, enrolled.text
    files = _data_files(settings)
    assert any(p.name.startswith("bl-") for p in files)
    assert _find(files, (NAME, ID_NUMBER)) == []
    assert NAME not in caplog.text and ID_NUMBER not in caplog.text

    erased = tenant.post("/v1/privacy/subjects/subj-held-out/erase")
    assert erased.status_code == 200 and erased.json()["items"]["subjects"] == 1
    files = _data_files(settings)
    assert not any(p.name.startswith("bl-") for p in files)
    needles: tuple[str, ...] = (NAME, ID_NUMBER)
    if settings.resolved_database_url.startswith("sqlite"):
        needles += ("subj-held-out",)  # deleted rows are zeroed and the WAL is checkpointed
    assert _find(files, needles) == []
    assert NAME not in caplog.text and ID_NUMBER not in caplog.text

    refused = tenant.post(
        "/v1/improvement/samples", {"subject_id": "subj-held-out", "image": b64(photos["obama"].read_bytes())}
    )
    assert refused.status_code == 403
    assert refused.json()["Error"]["Code"] == "UnauthorizedOperation.ConsentRequired"

    assert cli("audit", "verify").exit_code == 0
    with runtime.transaction() as session:
        session.execute(
            update(AuditRecord).where(AuditRecord.event_type == "erasure").values(details={"total": 0, "items": {}})
        )
    verified = cli("audit", "verify")
    assert verified.exit_code == 1 and "BROKEN" in verified.stdout
