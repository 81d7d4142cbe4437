"""Every retention period of policy.yaml at its boundary: one second before, kept; one second after, gone.

The table of kinds is generated from ``policy.yaml``: a kind without a scenario here fails. Runs on
SQLite and (with ``OPENKYC_TEST_DATABASE_URL``) on PostgreSQL through the ``runtime``/``tenant``
fixtures; the runtime's clock is replaced, as in test_retention_sweep.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from clocks import Clock
from openkyc.diagnostics.requests import describe_request
from openkyc.diagnostics.retention import truncate_address
from openkyc.errors import ResourceNotFound
from openkyc.privacy.sweep import run_sweep
from openkyc.privacy.vocabulary import Purpose, RetentionKind
from openkyc.store.models.accounts import Resource
from openkyc.store.models.diagnostics import CallRecord
from openkyc.store.models.faces import Collection, IndexEvent, Subject
from openkyc.store.models.media import Blob
from openkyc.store.models.privacy import Consent, ModelImprovementItem
from openkyc.store.models.verification import VerificationResult, VerificationSession

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
POLICY_FILE = Path(__file__).resolve().parents[2] / "src" / "openkyc" / "privacy" / "policy.yaml"
POLICY_KINDS = sorted(yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))["retention"])
REDIS_URL = os.environ.get("OPENKYC_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")  # a database of its own

Probe = Callable[[], tuple[bool, ...]]  # what is still there; all True before the boundary, all False after


def _one(runtime: Any, model: Any, *where: Any) -> Any:
    with runtime.transaction() as session:
        row = session.scalar(select(model).where(*where))
        if row is not None:
            session.expunge(row)
        return row


def _blob(runtime: Any, app_id: int, kind: str, *, hours: float = 24 * 400, subject_id: str | None = None) -> str:
    now = runtime.clock()
    with runtime.transaction() as session:
        blob_id: str = runtime.blobs.put(
            session, app_id=app_id, kind=kind, data=b"x" * 32, now=now, expires_at=now + timedelta(hours=hours),
            subject_id=subject_id, purpose=Purpose.PROVIDE_FEATURES,
        )  # fmt: skip
    return blob_id


def _blob_probe(runtime: Any, blob_id: str) -> Probe:
    def probe() -> tuple[bool, ...]:
        return (
            _one(runtime, Blob, Blob.id == blob_id) is not None,
            any(runtime.settings.blob_dir.glob(f"*/{blob_id}")),
        )

    return probe


def _media(kind: str) -> Callable[[Any, Any], Probe]:
    def seed(runtime: Any, tenant: Any) -> Probe:
        return _blob_probe(runtime, _blob(runtime, tenant.app_id, kind, hours=24))  # written with a sloppy expiry

    return seed


def _call_record(runtime: Any, app_id: int, **values: Any) -> str:
    request_id = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "app_id": app_id, "secret_id": None, "action": "CompareFace", "method": "POST", "route": "/v1/faces/compare",
        "status_code": 200, "error_code": None, "result_code": "Success", "billable": True, "duration_ms": 12.5,
        "client_ip": None, "created_at": runtime.clock(),
    }  # fmt: skip
    fields.update(values)
    with runtime.transaction() as session:
        session.add(CallRecord(request_id=request_id, **fields))
    return request_id


def _verification_result(runtime: Any, app_id: int, *, expires_hours: float, rule_recorded: bool = True) -> str:
    result_id = "ver-" + uuid.uuid4().hex[:20]
    now = runtime.clock()
    with runtime.transaction() as session:
        session.add(
            VerificationResult(
                id=result_id, app_id=app_id, kind="identity", subject_id="s-1", result_code="Success", live=True,
                sim=91.0, details={}, identification_enc=runtime.keyring.encrypt(b'{"surname": "X"}', b"aad"),
                created_at=now, expires_at=now + timedelta(hours=expires_hours), rule_recorded=rule_recorded,
            )
        )  # fmt: skip
    return result_id


def _subject(runtime: Any, app_id: int) -> int:
    now = runtime.clock()
    collection_id = "col-" + uuid.uuid4().hex[:12]
    with runtime.transaction() as session:
        session.add(Resource(id=collection_id, app_id=app_id, kind="collection", name=collection_id, created_at=now))
        session.add(
            Collection(id=collection_id, app_id=app_id, duplicate_check=False, embedder="sface", created_at=now)
        )
        session.flush()
        row = Subject(
            collection_id=collection_id, app_id=app_id, subject_id="s-1", template=b"\x01" * 64, template_version=1,
            key_id="tk-1", identification_enc=runtime.keyring.encrypt(b'{"name": "Planted Name"}', b"aad"),
            image_blob_id=None, created_at=now,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return int(row.id)


def _session(runtime: Any, app_id: int) -> tuple[str, str]:
    now = runtime.clock()
    blob_id = _blob(runtime, app_id, "face_image", hours=2)
    token = uuid.uuid4().hex
    with runtime.transaction() as session:
        session.add(
            VerificationSession(
                biz_token=token, app_id=app_id, rule_id=None, redirect_url="https://customer.example/back",
                compare_blob_id=blob_id, extra_enc=runtime.keyring.encrypt(b"customer-ref-42", b"aad"),
                actions=["blink"], state="created", attempts=0, result_id=None, created_at=now,
                expires_at=now + timedelta(minutes=30),
            )
        )  # fmt: skip
    return token, blob_id


def seed_verification_result(runtime: Any, tenant: Any) -> Probe:
    result_id = _verification_result(runtime, tenant.app_id, expires_hours=24 * 30)  # only the policy cut-off applies
    return lambda: (_one(runtime, VerificationResult, VerificationResult.id == result_id) is not None,)


def seed_enrolment_identification(runtime: Any, tenant: Any) -> Probe:
    row_id = _subject(runtime, tenant.app_id)

    def probe() -> tuple[bool, ...]:
        row = _one(runtime, Subject, Subject.id == row_id)
        assert row is not None, "the template stays until its own period"
        return (row.identification_enc is not None,)

    return probe


def seed_face_template(runtime: Any, tenant: Any) -> Probe:
    row_id = _subject(runtime, tenant.app_id)

    def probe() -> tuple[bool, ...]:
        removed = _one(runtime, IndexEvent, IndexEvent.subject_row == row_id, IndexEvent.op == "remove")
        return (_one(runtime, Subject, Subject.id == row_id) is not None, removed is None)

    return probe


def seed_verification_session(runtime: Any, tenant: Any) -> Probe:
    token, _ = _session(runtime, tenant.app_id)
    return lambda: (_one(runtime, VerificationSession, VerificationSession.biz_token == token) is not None,)


def seed_call_record(runtime: Any, tenant: Any) -> Probe:
    request_id = _call_record(runtime, tenant.app_id)
    return lambda: (_one(runtime, CallRecord, CallRecord.request_id == request_id) is not None,)


def seed_request_log(runtime: Any, tenant: Any) -> Probe:
    request_id = _call_record(runtime, tenant.app_id, secret_id="AKIDretentiontest")

    def probe() -> tuple[bool, ...]:
        with runtime.transaction() as session:
            try:
                describe_request(session, tenant.app_id, request_id, now=runtime.clock(), gate=runtime.gate)
                answers = True
            except ResourceNotFound:
                answers = False
        row = _one(runtime, CallRecord, CallRecord.request_id == request_id)
        assert row is not None and row.billable, "billing fields stay for the call-record period"
        return (answers, row.secret_id is not None)

    return probe


def seed_client_address(runtime: Any, tenant: Any) -> Probe:
    v4 = _call_record(runtime, tenant.app_id, client_ip="203.0.113.77")
    v6 = _call_record(runtime, tenant.app_id, client_ip="2001:db8:85a3:8d3:1319:8a2e:370:7348")

    def probe() -> tuple[bool, ...]:
        a = _one(runtime, CallRecord, CallRecord.request_id == v4).client_ip
        b = _one(runtime, CallRecord, CallRecord.request_id == v6).client_ip
        if a != "203.0.113.77":
            assert a == "203.0.113.0/24"
        if b != "2001:db8:85a3:8d3:1319:8a2e:370:7348":
            assert b == "2001:db8:85a3::/48"
        return (a == "203.0.113.77", b.startswith("2001:db8:85a3:8d3"))

    return probe


def seed_model_improvement_item(runtime: Any, tenant: Any) -> Probe:
    now = runtime.clock()
    blob_id = _blob(runtime, tenant.app_id, "face_image", hours=runtime.gate.policy.max_retention_hours(
        RetentionKind.MODEL_IMPROVEMENT_ITEM), subject_id="s-9")  # fmt: skip
    with runtime.transaction() as session:
        consent = Consent(app_id=tenant.app_id, subject_id="s-9", purpose="model_improvement", text_version="v1",
                          granted_at=now, withdrawn_at=None)  # fmt: skip
        session.add(consent)
        session.flush()
        session.add(ModelImprovementItem(app_id=tenant.app_id, subject_id="s-9", consent_id=consent.id,
                                         kind="face_image:eval", blob_ref=blob_id, created_at=now))  # fmt: skip
    return lambda: (
        _one(runtime, ModelImprovementItem, ModelImprovementItem.blob_ref == blob_id) is not None,
        *_blob_probe(runtime, blob_id)(),
    )


def seed_consent_record(runtime: Any, tenant: Any) -> Probe:
    now = runtime.clock()
    with runtime.transaction() as session:
        withdrawn = Consent(app_id=tenant.app_id, subject_id="s-7", purpose="model_improvement", text_version="v1",
                            granted_at=now - timedelta(days=30), withdrawn_at=now)  # fmt: skip
        active = Consent(app_id=tenant.app_id, subject_id="s-8", purpose="model_improvement", text_version="v1",
                         granted_at=now - timedelta(days=3000), withdrawn_at=None)  # fmt: skip
        session.add_all([withdrawn, active])
        session.flush()
        withdrawn_id, active_id = withdrawn.id, active.id

    def probe() -> tuple[bool, ...]:
        assert _one(runtime, Consent, Consent.id == active_id) is not None, "a consent in force is kept"
        return (_one(runtime, Consent, Consent.id == withdrawn_id) is not None,)

    return probe


def seed_webhook_delivery(runtime: Any, tenant: Any) -> Probe:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Queue
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from openkyc.jobs.queue import QUEUE_NAME

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisConnectionError:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    runtime.settings = runtime.settings.model_copy(update={"redis_url": REDIS_URL})
    queue = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)
    ids = []
    for registry in (queue.failed_job_registry, queue.finished_job_registry):
        job = Job.create(
            "openkyc.jobs.worker.perform", args=["webhook", {"app_id": tenant.app_id}], connection=connection,
            serializer=JSONSerializer, description="webhook", origin=QUEUE_NAME,
        )  # fmt: skip
        job.ended_at = runtime.clock()
        job.save()
        registry.add(job, ttl=30 * 24 * 3600)
        ids.append(job.id)

    def probe() -> tuple[bool, ...]:
        return tuple(Job.exists(job_id, connection=connection) for job_id in ids)

    return probe


SCENARIOS: dict[str, Callable[[Any, Any], Probe]] = {
    "face_image": _media("face_image"),
    "face_video": _media("video"),
    "document_image": _media("document_image"),
    "verification_result": seed_verification_result,
    "enrolment_identification": seed_enrolment_identification,
    "verification_session": seed_verification_session,
    "face_template": seed_face_template,
    "call_record": seed_call_record,
    "request_log": seed_request_log,
    "client_address": seed_client_address,
    "model_improvement_item": seed_model_improvement_item,
    "webhook_delivery": seed_webhook_delivery,
    "consent_record": seed_consent_record,
}


@pytest.mark.parametrize("kind", POLICY_KINDS)
def test_each_retention_period_at_its_boundary(runtime: Any, tenant: Any, kind: str) -> None:
    assert kind in SCENARIOS, f"retention kind {kind!r} of policy.yaml has no boundary scenario"
    clock = Clock(T0)
    runtime.clock = clock
    probe = SCENARIOS[kind](runtime, tenant)
    assert all(probe()), "the scenario did not store what it checks"
    boundary = T0 + timedelta(hours=runtime.gate.policy.max_retention_hours(RetentionKind(kind)))

    clock.now = boundary - timedelta(seconds=1)
    run_sweep(runtime.sweeper)
    assert all(probe()), f"{kind}: deleted before its period ended"

    clock.now = boundary + timedelta(seconds=1)
    run_sweep(runtime.sweeper)
    assert not any(probe()), f"{kind}: still there after its period"


def test_a_hosted_session_goes_with_its_photo_and_extra(runtime: Any, tenant: Any) -> None:
    clock = Clock(T0)
    runtime.clock = clock
    token, blob_id = _session(runtime, tenant.app_id)
    clock.now = T0 + timedelta(hours=72, seconds=1)
    report = run_sweep(runtime.sweeper)
    assert report.counts["verification_sessions"] == 1
    assert _one(runtime, VerificationSession, VerificationSession.biz_token == token) is None
    assert _one(runtime, Blob, Blob.id == blob_id) is None and not any(runtime.settings.blob_dir.glob(f"*/{blob_id}"))


def test_hosted_session_result_answers_not_found_after_72_hours(runtime: Any, tenant: Any) -> None:
    created = tenant.post("/v1/sessions", {"redirect_url": "https://customer.example/back", "extra": "customer-ref-42"})
    assert created.status_code == 200, created.text
    token = created.json()["biz_token"]
    assert tenant.get(f"/v1/sessions/{token}/result").status_code == 200
    real = runtime.clock
    runtime.clock = lambda: datetime.now(UTC) + timedelta(hours=72, seconds=5)
    run_sweep(runtime.sweeper)
    runtime.clock = real  # signed requests need the real time
    gone = tenant.get(f"/v1/sessions/{token}/result")
    assert gone.status_code == 404 and "customer-ref-42" not in gone.text


def test_a_rule_shorter_result_period_deletes_the_rows_without_a_recorded_rule(runtime: Any, tenant: Any) -> None:
    """Rows written before migration 0018 (no rule recorded) get their app's shortest rule; rows
    that recorded theirs: tests/privacy_api/test_retention_per_rule.py."""
    rule = tenant.post("/v1/rules", {"name": "brief", "config": {"retention": {"result_hours": 1}}})
    assert rule.status_code == 200, rule.text
    clock = Clock(T0)
    runtime.clock = clock
    written_long = _verification_result(runtime, tenant.app_id, expires_hours=72, rule_recorded=False)
    written_short = _verification_result(runtime, tenant.app_id, expires_hours=1)

    def count() -> int:
        with runtime.transaction() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(VerificationResult)
                    .where(VerificationResult.id.in_([written_long, written_short]))
                )
                or 0
            )

    clock.now = T0 + timedelta(minutes=59)
    run_sweep(runtime.sweeper)
    assert count() == 2
    clock.now = T0 + timedelta(hours=1, seconds=1)
    assert run_sweep(runtime.sweeper).counts["verification_results"] == 2
    assert count() == 0


def test_request_log_view_over_http(runtime: Any, tenant: Any) -> None:
    now = datetime.now(UTC)
    recent = _call_record(runtime, tenant.app_id, created_at=now - timedelta(days=29), client_ip="198.51.100.9")
    old = _call_record(runtime, tenant.app_id, created_at=now - timedelta(days=30, seconds=5))
    seen = tenant.get(f"/v1/requests/{recent}")
    assert seen.status_code == 200 and seen.json()["client_ip"] == "198.51.100.9"
    gone = tenant.get(f"/v1/requests/{old}")
    assert gone.status_code == 404 and gone.json()["Error"]["Code"] == "ResourceNotFound.Request"
    assert _one(runtime, CallRecord, CallRecord.request_id == old).billable  # still billed


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::/48"),
        ("::ffff:198.51.100.200", "198.51.100.0/24"),
        ("203.0.113.0/24", "203.0.113.0/24"),
        ("testclient", None),
    ],
)
def test_truncate_address(address: str, kept: str | None) -> None:
    assert truncate_address(address) == kept
