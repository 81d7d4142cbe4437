"""The purpose gate at the storage boundary (issue 10, points 4 and 5).

* The route walk: every route the app serves is called with a realistic body (models faked for
  speed); the request ledger (openkyc.privacy.ledger) records each gate decision and each touch of
  personal data (blob store, personal-data repositories, model leases, call-record/rule reads), and
  the test fails on a touch no earlier decision of the same request covered.
* Refusals always audited: a narrower policy refuses a purpose *after* the request has written
  (constructed below); the answer is 403 within a second (no wait on the request's own SQLite
  write lock), the refusal is in the audit log, and the rolled-back blob left no file.
* The blob store states a purpose; obligations (retention, subject rights) pass any policy.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from gate_fakes import fake_pool, png
from sqlalchemy import func, select

from openkyc.accounts.signing import sign_request
from openkyc.api.app import api_routes, create_app
from openkyc.api.gateway import needs_signature
from openkyc.api.idempotency import ANSWERS, METHODS
from openkyc.biometrics.repository import SubjectRepository
from openkyc.errors import PurposeNotAllowed
from openkyc.privacy import datamap, ledger
from openkyc.privacy.policy import default_policy_text
from openkyc.privacy.vocabulary import DataElement, Obligation, Purpose
from openkyc.runtime import Runtime
from openkyc.store.idempotency import ANSWER_ELEMENTS
from openkyc.store.models.media import Blob
from openkyc.store.models.privacy import AuditRecord


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


IMAGE, OTHER, VIDEO = b64(png(1)), b64(png(2)), b64(b"\x1aE\xdf\xa3 a video the fake liveness accepts")


@pytest.fixture
def walker(runtime: Any, tenant: Any) -> Any:
    runtime.components["models"] = fake_pool()
    return tenant


def _walk(tenant: Any, *, idempotent: bool = False) -> dict[tuple[str, str], int]:
    """Calls every route once, in an order that creates what later calls need; returns statuses.

    ``idempotent``: every signed write carries an ``Idempotency-Key`` and is sent twice, the second
    time answered from the stored answer (same status and body, ``Idempotent-Replayed: true``).
    """
    client = tenant.client
    seen: dict[tuple[str, str], int] = {}

    def call(method: str, template: str, path: str, body: Any = None, *, signed: bool = True) -> Any:
        if signed and idempotent and method in {"POST", "PUT", "DELETE"}:
            response = _idempotent_call(tenant, method, path, body)
            STORED[f"{method} {template}"] = response.json()
        elif signed:
            response = tenant.request(method, path, body)
        else:
            response = client.request(method, path, json=body)
        seen[(method, template)] = response.status_code
        assert response.status_code < 400, f"{method} {template}: {response.text[:300]}"
        return response

    call("GET", "/v1/health", "/v1/health", signed=False)
    call("GET", "/v1/health/ready", "/v1/health/ready", signed=False)
    call("GET", "/v1/account", "/v1/account")
    call("GET", "/metrics", "/metrics", signed=False)
    call("GET", "/openapi.json", "/openapi.json", signed=False)
    call("GET", "/docs", "/docs", signed=False)
    call("GET", "/docs/oauth2-redirect", "/docs/oauth2-redirect", signed=False)
    call("GET", "/redoc", "/redoc", signed=False)

    rule = call("POST", "/v1/rules", "/v1/rules", {"name": "walk"}).json()["rule_id"]
    call("GET", "/v1/rules/{rule_id}", f"/v1/rules/{rule}")
    call("PUT", "/v1/rules/{rule_id}", f"/v1/rules/{rule}", {"name": "walk-2"})
    call("GET", "/v1/rules/{rule_id}/history", f"/v1/rules/{rule}/history")

    call("POST", "/v1/faces/detect", "/v1/faces/detect", {"image": IMAGE})
    call("POST", "/v1/faces/compare", "/v1/faces/compare", {"image_a": IMAGE, "image_b": OTHER, "rule_id": rule})
    col = call("POST", "/v1/collections", "/v1/collections", {"name": "walkers"}).json()["collection_id"]
    call("GET", "/v1/collections/{collection_id}", f"/v1/collections/{col}")
    enrol = {
        "subject_id": "walker-1",
        "image": IMAGE,
        "identification": {"name": "Anna Eriksson", "id_number": "L898902C3", "date_of_birth": "1974-08-12"},
        "retain_image": True,
    }
    call("POST", "/v1/collections/{collection_id}/subjects", f"/v1/collections/{col}/subjects", enrol)
    call("POST", "/v1/collections/{collection_id}/search", f"/v1/collections/{col}/search", {"image": IMAGE})

    call("POST", "/v1/liveness/reflect-sequences", "/v1/liveness/reflect-sequences")
    call("POST", "/v1/liveness/challenges", "/v1/liveness/challenges", {"reflection": True})
    call("POST", "/v1/liveness", "/v1/liveness", {"video": VIDEO, "mode": "silent", "subject_id": "walker-1"})
    selfie = {"video": VIDEO, "image": IMAGE, "mode": "silent", "subject_id": "walker-1"}
    verification = call("POST", "/v1/verifications/selfie", "/v1/verifications/selfie", selfie).json()
    call("GET", "/v1/verifications/{verification_id}", f"/v1/verifications/{verification['verification_id']}")
    call("POST", "/v1/documents/ocr", "/v1/documents/ocr", {"image": IMAGE})
    identity = {"document_image": IMAGE, "video": VIDEO, "mode": "silent", "subject_id": "walker-1"}
    call("POST", "/v1/verifications/identity", "/v1/verifications/identity", identity)

    hosted = {"redirect_url": "https://example.com/done", "compare_image": OTHER, "extra": "order-17"}
    token = call("POST", "/v1/sessions", "/v1/sessions", hosted).json()["biz_token"]
    call("GET", "/verify/{biz_token}", f"/verify/{token}", signed=False)
    call("POST", "/verify/{biz_token}/sequence", f"/verify/{token}/sequence", signed=False)
    call("POST", "/verify/{biz_token}/notice", f"/verify/{token}/notice", {"agree": True}, signed=False)
    challenge = call("POST", "/verify/{biz_token}/challenge", f"/verify/{token}/challenge", signed=False).json()
    submit = {"video": VIDEO, "challenge_id": challenge["challenge_id"]}
    call("POST", "/verify/{biz_token}/submit", f"/verify/{token}/submit", submit, signed=False)
    call("GET", "/v1/sessions/{biz_token}/result", f"/v1/sessions/{token}/result")
    paper = {"redirect_url": "https://example.com/done", "check_mode": "document"}
    paper_token = call("POST", "/v1/sessions", "/v1/sessions", paper).json()["biz_token"]
    call("POST", "/verify/{biz_token}/notice", f"/verify/{paper_token}/notice", {"agree": True}, signed=False)
    side = {"document_image": IMAGE}
    call("POST", "/verify/{biz_token}/document", f"/verify/{paper_token}/document", side, signed=False)

    def tencent(action: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        headers = sign_request(
            tenant.secret_id,
            tenant.secret_key,
            method="POST",
            path="/",
            host="testserver",
            body=body,
            timestamp=int(time.time()),
            service="faceid",
        )
        headers.update({"X-TC-Action": action, "X-TC-Version": "2018-03-01"})
        response = client.post("/", content=body, headers=headers)
        seen[("POST", "/")] = response.status_code
        answer: dict[str, Any] = response.json()["Response"]
        assert response.status_code == 200 and "Error" not in answer, f"POST / {action}: {response.text[:300]}"
        return answer

    tencent("CompareFaceLiveness", {"ImageBase64": IMAGE, "VideoBase64": VIDEO, "LivenessType": "SILENT"})
    web = {"RedirectURL": "https://example.com/done", "CompareImageBase64": OTHER, "Extra": "order-18"}
    tencent_token = tencent("ApplyWebVerificationBizTokenIntl", web)["BizToken"]
    tencent("GetWebVerificationResultIntl", {"BizToken": tencent_token})

    consent = {"subject_id": "walker-1", "text_version": "v1"}
    call("POST", "/v1/privacy/consents", "/v1/privacy/consents", consent)
    sample = {"subject_id": "walker-1", "image": IMAGE}
    call("POST", "/v1/improvement/samples", "/v1/improvement/samples", sample)
    call("POST", "/v1/privacy/consents/withdraw", "/v1/privacy/consents/withdraw", {"subject_id": "walker-1"})

    described = call("GET", "/v1/account", "/v1/account")
    call("GET", "/v1/requests/{request_id}", f"/v1/requests/{described.headers['x-request-id']}")
    call("GET", "/v1/usage", "/v1/usage")
    call("GET", "/v1/bills/{month}", "/v1/bills/" + time.strftime("%Y-%m", time.gmtime()))
    call("GET", "/v1/privacy/ropa", "/v1/privacy/ropa")

    call("GET", "/v1/privacy/subjects/{subject_id}", "/v1/privacy/subjects/walker-1")
    call("GET", "/v1/privacy/subjects/{subject_id}/export.zip", "/v1/privacy/subjects/walker-1/export.zip")
    call("GET", "/v1/privacy/sessions/{biz_token}", f"/v1/privacy/sessions/{token}")
    call("POST", "/v1/privacy/sessions/{biz_token}/erase", f"/v1/privacy/sessions/{token}/erase")
    # the management API (issue 15)
    call("GET", "/v1/apps", "/v1/apps")
    made = call("POST", "/v1/apps", "/v1/apps", {"name": "walk-app"}).json()
    call("POST", "/v1/apps/{app_id}/disable", f"/v1/apps/{made['app_id']}/disable")
    call("POST", "/v1/apps/{app_id}/enable", f"/v1/apps/{made['app_id']}/enable")
    call("GET", "/v1/credentials", "/v1/credentials")
    extra = call("POST", "/v1/credentials", "/v1/credentials", {}).json()["secret_id"]
    turned = call("POST", "/v1/credentials/{secret_id}/rotate", f"/v1/credentials/{extra}/rotate", {}).json()
    call("POST", "/v1/credentials/{secret_id}/disable", f"/v1/credentials/{turned['secret_id']}/disable")
    call("GET", "/v1/users", "/v1/users")
    call("GET", "/v1/rules", "/v1/rules")
    call("GET", "/v1/collections", "/v1/collections")
    call("GET", "/v1/collections/{collection_id}/subjects", f"/v1/collections/{col}/subjects")
    photo = {"image": OTHER, "retain_image": True}
    call(
        "PUT",
        "/v1/collections/{collection_id}/subjects/{subject_id}/photo",
        f"/v1/collections/{col}/subjects/walker-1/photo",
        photo,
    )
    call("GET", "/v1/verifications", "/v1/verifications")
    call("GET", "/v1/sessions", "/v1/sessions")
    call("GET", "/v1/audit-log", "/v1/audit-log")
    hooked = call(
        "POST", "/v1/rules", "/v1/rules", {"name": "walk-hook", "config": {"webhook_url": "http://127.0.0.1:9/"}}
    )
    call(
        "POST", "/v1/liveness", "/v1/liveness", {"video": VIDEO, "mode": "silent", "rule_id": hooked.json()["rule_id"]}
    )
    delivery = call("GET", "/v1/webhooks/deliveries", "/v1/webhooks/deliveries").json()["deliveries"][0]
    call(
        "POST",
        "/v1/webhooks/deliveries/{delivery_id}/redeliver",
        f"/v1/webhooks/deliveries/{delivery['delivery_id']}/redeliver",
    )

    call(
        "DELETE",
        "/v1/collections/{collection_id}/subjects/{subject_id}",
        f"/v1/collections/{col}/subjects/walker-1",
    )
    call("DELETE", "/v1/collections/{collection_id}", f"/v1/collections/{col}")
    call("POST", "/v1/privacy/subjects/{subject_id}/erase", "/v1/privacy/subjects/walker-1/erase")
    return seen


def _idempotent_call(tenant: Any, method: str, path: str, payload: Any) -> Any:
    """The first call under a new key, then its replay; returns the first answer."""
    body = b"" if payload is None else json.dumps(payload).encode()
    key = f"walk-{uuid.uuid4().hex}"
    answers = []
    for _ in range(2):
        headers = {**tenant.sign(method, path, body, nonce=True), "Idempotency-Key": key}
        answers.append(tenant.client.request(method, path, content=body, headers=headers))
    first, replayed = answers
    if first.status_code < 300:
        assert replayed.headers.get("idempotent-replayed") == "true", f"{method} {path}: not replayed"
        assert (replayed.status_code, replayed.content) == (first.status_code, first.content)
    return first


STORED: dict[str, Any] = {}  # "METHOD /template" -> the answer stored (and replayed) under a key


def test_every_route_decides_before_it_touches_personal_data(walker: Any) -> None:
    with ledger.watch() as ledgers:
        seen = _walk(walker)

    served = {(method, path) for method, path, _ in api_routes(walker.client.app)}
    assert served - set(seen) == set(), "routes the walk does not call: add them with a realistic body"

    uncovered = {
        f"{led.label}: {t.what} {sorted(e.value for e in t.elements)}" for led in ledgers for t in led.uncovered()
    }
    assert uncovered == set(), "personal data touched before (or without) a gate decision in the request"

    touched = {t.what for led in ledgers for t in led.touches}
    # the instrument saw the storage boundary itself, not only gate calls
    assert {"BlobStore.put", "BlobStore.get", "BlobStore.delete", "models.lease"} <= touched
    assert {"SubjectRepository.add", "ResultRepository.add", "ResultRepository.get"} <= touched
    assert {"request_log.describe", "usage.call_records", "rules.describe", "sessions.create"} <= touched
    assert all(not led.pending for led in ledgers)  # nothing refused, nothing left unaudited


def test_the_instrument_flags_a_touch_without_a_decision(runtime: Any) -> None:
    runtime.components["models"] = fake_pool()
    with ledger.watch() as ledgers:
        with ledger.open_ledger("control"), runtime.models.lease():
            pass  # a model lease with no gate decision before it
        with ledger.open_ledger("decided"):
            runtime.gate.check(Purpose.PROVIDE_FEATURES, [DataElement.FACE_IMAGE])
            with runtime.models.lease():
                pass
    found = {led.label: [t.what for t in led.uncovered()] for led in ledgers}
    assert found == {"control": ["models.lease"], "decided": []}


def test_the_instrument_flags_a_decision_made_after_a_write(runtime: Any, tenant: Any) -> None:
    """A repository decides on its own purpose, but after the request wrote an image: too late."""
    now = runtime.clock()
    with ledger.watch() as ledgers, ledger.open_ledger("late"), runtime.transaction() as session:
        runtime.blobs.put(
            session,
            app_id=tenant.app_id,
            kind="face_image",
            data=b"image",
            now=now,
            expires_at=now + timedelta(hours=1),
            purpose=Purpose.PROVIDE_FEATURES,
        )
        SubjectRepository(session, runtime.gate, runtime.keyring).count(
            tenant.app_id, "col-x", purpose=Purpose.PROVIDE_FEATURES
        )
    (late,) = ledgers
    assert [t.what for t in late.uncovered()] == ["SubjectRepository.count"]


# --- stored answers (Idempotency-Key) are gated touches ---------------------------------------------


def _signed_writes(app: Any) -> dict[str, str]:
    """``{route name: "METHOD /template"}`` of every signed write the app serves."""
    return {
        name: f"{method} {path}"
        for method, path, name in api_routes(app)
        if method in METHODS and needs_signature(path)
    }


def test_every_signed_write_declares_what_its_stored_answer_holds(walker: Any) -> None:
    writes = _signed_writes(walker.client.app)
    assert set(writes) - set(ANSWERS) == set(), "declare the purpose and elements of these answers in ANSWERS"
    assert set(ANSWERS) - set(writes) == set(), "ANSWERS names routes the app no longer serves"
    for name, label in ANSWERS.items():
        assert set(label.elements) <= set(ANSWER_ELEMENTS), name
    # the data map names exactly what a stored answer can hold
    assert set(datamap.TABLES["idempotency_keys"].columns["response_enc"]) == set(ANSWER_ELEMENTS)


def _elements_in(answer: Any) -> set[DataElement]:
    """Elements recognisable in an answer's JSON: ids, keypoints, the best frame, and under
    ``fields``/``identification``/``mrz`` the field names the data map knows (a rule's ``name`` is no person's)."""
    identification = {**datamap.SEALED_FIELDS["verification_results.identification_enc"]}
    identification |= datamap.SEALED_FIELDS["subjects.identification_enc"]
    named = {
        "subject_id": DataElement.SUBJECT_ID,
        "matches": DataElement.SUBJECT_ID,
        "consent_id": DataElement.CONSENT_RECORD,
        "keypoints": DataElement.KEYPOINTS,
        "best_frame": DataElement.FACE_IMAGE,
        "portrait": DataElement.FACE_IMAGE,
    }
    found: set[DataElement] = set()

    def walk(value: Any, inside: bool) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                element = identification.get(key) if inside else named.get(key)
                if element is not None and inner not in (None, [], {}, ""):
                    found.add(element)
                walk(inner, inside or key in {"fields", "identification", "mrz"})
        elif isinstance(value, list):
            for inner in value:
                walk(inner, inside)

    walk(answer, False)
    return found


def test_every_signed_write_is_walked_with_an_idempotency_key(walker: Any) -> None:
    """The route walk again, each signed write sent twice under one key: the first call stores its
    answer, the second replays it; each store and replay is a touch the gate decided on first."""
    STORED.clear()
    with ledger.watch() as ledgers:
        seen = _walk(walker, idempotent=True)
    writes = _signed_writes(walker.client.app)
    assert {f"{m} {t}" for m, t in seen} >= set(writes.values())

    uncovered = {
        f"{led.label}: {t.what} {sorted(e.value for e in t.elements)}" for led in ledgers for t in led.uncovered()
    }
    assert uncovered == set(), "a stored answer kept or replayed without a gate decision in the request"
    stores = [(led.label, t) for led in ledgers for t in led.touches if t.what == "AnswerStore.complete"]
    replays = [(led.label, t) for led in ledgers for t in led.touches if t.what == "AnswerStore.replay"]
    personal = {name for name, label in ANSWERS.items() if label.elements}
    # every store is replayed once; routes the walk calls more than once (an app enabled after it was
    # disabled, a second credential) store more than one answer
    assert len(stores) == len(replays) >= len(personal), ([s[0] for s in stores], personal)
    assert all(t.kind == ledger.WRITE for _, t in stores) and all(t.kind == ledger.READ for _, t in replays)
    # each replay decided for its route's own purpose before it read the stored row
    by_decision = {(d.purpose, d.elements) for led in ledgers for d in led.decisions}
    for label in ANSWERS.values():
        if label.elements:
            assert (label.purpose.value, frozenset(label.elements)) in by_decision
    # what each route declares its answer holds covers what its answer really held
    assert set(STORED) == set(writes.values())
    route_of = {route: name for name, route in writes.items()}
    held = {route_of[route]: _elements_in(answer) for route, answer in STORED.items()}
    assert DataElement.FACE_IMAGE in held["DetectLiveness"] and DataElement.NAME in held["RecognizeDocument"]
    for name, elements in held.items():
        assert elements <= set(ANSWERS[name].elements), f"{name}'s answer holds {sorted(e.value for e in elements)}"


def test_a_stored_answer_is_not_replayed_for_a_purpose_the_policy_no_longer_allows(
    settings: Any, tmp_path: Path, tenant: Any
) -> None:
    body = json.dumps({"name": "kept"}).encode()

    def send(client: Any) -> Any:
        headers = {**tenant.sign("POST", "/v1/rules", body, nonce=True), "Idempotency-Key": "policy-change"}
        return client.post("/v1/rules", content=body, headers=headers)

    first = send(tenant.client)
    assert first.status_code == 200, first.text
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(_without("configuration", "maintain_configuration")), encoding="utf-8")
    changed = settings.model_copy(update={"policy_file": policy})
    reopened = Runtime.open(changed, migrate=False)
    try:
        with ledger.watch() as ledgers, TestClient(create_app(changed, reopened)) as client:
            replay = send(client)
        assert replay.status_code == 403, replay.text
        assert replay.json()["Error"]["Code"] == PurposeNotAllowed.code
        assert "idempotent-replayed" not in replay.headers and "kept" not in replay.text
        assert [r["purpose"] for r in _refusals(reopened)] == ["maintain_configuration"]
        (refused,) = [led for led in ledgers if led.label == "POST /v1/rules"]
        assert refused.touches == []  # refused before the stored row was read
    finally:
        reopened.close()


# --- refusals always audited, no orphan files --------------------------------------------------------


def _no_templates_policy(path: Path) -> Path:
    """Face images may still be used to provide the features; face templates may not."""
    data = yaml.safe_load(default_policy_text())
    data["name"] = "No templates"
    data["categories"]["face_features"]["purposes"] = ["troubleshooting"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _refuse_after_write(runtime: Runtime, app_id: int) -> None:
    """A request that stores an image (holding SQLite's write lock), then reads templates: refused."""
    access = runtime.access
    with access.transaction() as session:
        now = access.clock()
        access.blobs.put(
            session,
            app_id=app_id,
            kind="face_image",
            data=png(3),
            now=now,
            expires_at=now + timedelta(hours=1),
            purpose=Purpose.PROVIDE_FEATURES,
        )
        SubjectRepository(session, access.gate, access.keyring).count(app_id, "col-x", purpose=Purpose.PROVIDE_FEATURES)


@pytest.fixture
def narrowed(settings: Any, tmp_path: Path, tenant: Any) -> Iterator[tuple[Any, Runtime]]:
    changed = settings.model_copy(update={"policy_file": _no_templates_policy(tmp_path / "no-templates.yaml")})
    reopened = Runtime.open(changed, migrate=False)
    app: FastAPI = create_app(changed, reopened)

    @app.post("/v1/walk/refuse-after-write")
    def refuse_after_write() -> dict[str, str]:  # the case the shipped routes no longer have
        _refuse_after_write(reopened, tenant.app_id)
        return {}

    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield dataclasses.replace(tenant, client=client), reopened
    finally:
        reopened.close()


def _refusals(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.transaction() as session:
        return [r.details for r in session.scalars(select(AuditRecord).where(AuditRecord.event_type == "gate_refusal"))]


def test_a_refusal_after_a_write_is_audited_at_once_and_leaves_no_file(narrowed: tuple[Any, Runtime]) -> None:
    tenant, runtime = narrowed
    started = time.monotonic()
    response = tenant.post("/v1/walk/refuse-after-write")
    elapsed = time.monotonic() - started
    assert response.status_code == 403, response.text
    assert response.json()["Error"]["Code"] == PurposeNotAllowed.code
    assert elapsed < 10.0  # no wait on the request's own write lock (SQLite would wait 30 s)
    refusals = _refusals(runtime)
    assert [(r["purpose"], r["code"]) for r in refusals] == [("provide_features", PurposeNotAllowed.code)]
    assert "face_features.template" in refusals[0]["elements"]
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 0
    blob_root = runtime.settings.blob_dir
    assert not blob_root.exists() or [p for p in blob_root.rglob("*") if p.is_file()] == []


def test_a_refused_route_is_audited_and_writes_nothing(narrowed: tuple[Any, Runtime]) -> None:
    tenant, runtime = narrowed
    runtime.components["models"] = fake_pool()
    collection = tenant.post("/v1/collections", {"name": "narrow"}).json()["collection_id"]
    with ledger.watch() as ledgers:
        response = tenant.post(f"/v1/collections/{collection}/subjects", {"subject_id": "s-1", "image": IMAGE})
    assert response.status_code == 403, response.text
    assert len(_refusals(runtime)) == 1
    (enrol,) = [led for led in ledgers if "/subjects" in led.label]
    assert enrol.touches == []  # refused before any model, blob or repository was reached


def test_refusals_outside_a_request_are_written_at_once(narrowed: tuple[Any, Runtime]) -> None:
    _, runtime = narrowed
    with pytest.raises(PurposeNotAllowed):
        with runtime.transaction() as session:
            SubjectRepository(session, runtime.gate, runtime.keyring).count(1, "c", purpose=Purpose.PROVIDE_FEATURES)
    assert len(_refusals(runtime)) == 1


# --- the blob store states a purpose -------------------------------------------------------------------


def test_blob_store_refuses_a_call_without_a_purpose(runtime: Any, tenant: Any) -> None:
    now = runtime.clock()
    with runtime.transaction() as session, pytest.raises(TypeError):
        runtime.blobs.put(session, app_id=tenant.app_id, kind="face_image", data=b"x", now=now, expires_at=now)  # type: ignore[call-arg]


def test_obligations_pass_where_the_policy_refuses_purposes(narrowed: tuple[Any, Runtime]) -> None:
    tenant, runtime = narrowed
    now = runtime.clock()
    with runtime.transaction() as session:
        blob_id = runtime.blobs.put(
            session,
            app_id=tenant.app_id,
            kind="face_image",
            data=b"image",
            now=now,
            expires_at=now + timedelta(hours=1),
            purpose=Purpose.PROVIDE_FEATURES,
        )
    with runtime.transaction() as session, pytest.raises(PurposeNotAllowed):
        runtime.blobs.get(session, tenant.app_id, blob_id, now=now, purpose=Purpose.BILLING)
    with runtime.transaction() as session:
        assert (
            runtime.blobs.get(session, tenant.app_id, blob_id, now=now, purpose=Obligation.SUBJECT_RIGHTS) == b"image"
        )
        assert runtime.blobs.delete(session, blob_id, purpose=Obligation.RETENTION)


def test_a_blob_written_by_a_rolled_back_transaction_is_removed_at_once(runtime: Any, tenant: Any) -> None:
    now = runtime.clock()
    with pytest.raises(RuntimeError), runtime.transaction() as session:
        runtime.blobs.put(
            session,
            app_id=tenant.app_id,
            kind="video",
            data=b"video",
            now=now,
            expires_at=now + timedelta(hours=1),
            purpose=Purpose.PROVIDE_FEATURES,
        )
        assert list(runtime.settings.blob_dir.rglob("bl-*"))  # written...
        raise RuntimeError("the request fails after the write")
    assert list(runtime.settings.blob_dir.rglob("bl-*")) == []  # ...and gone with the rollback


# --- troubleshooting, billing and configuration reads state their purpose ---------------------------------


def _without(category: str, purpose: str) -> dict[str, Any]:
    data = yaml.safe_load(default_policy_text())
    data["categories"][category]["purposes"].remove(purpose)
    return dict(data)


@pytest.mark.parametrize(
    ("category", "purpose", "method", "path"),
    [
        ("diagnostic_usage", "troubleshooting", "GET", "/v1/requests/00000000-0000-0000-0000-000000000000"),
        ("diagnostic_usage", "billing", "GET", "/v1/usage"),
        ("diagnostic_usage", "billing", "GET", "/v1/bills/2026-01"),
        ("configuration", "maintain_configuration", "GET", "/v1/rules/rule-none"),
        ("configuration", "maintain_configuration", "POST", "/v1/rules"),
    ],
)
def test_operational_reads_state_their_purpose(
    settings: Any, tmp_path: Path, tenant: Any, category: str, purpose: str, method: str, path: str
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(_without(category, purpose)), encoding="utf-8")
    changed = settings.model_copy(update={"policy_file": policy})
    reopened = Runtime.open(changed, migrate=False)
    try:
        with TestClient(create_app(changed, reopened), raise_server_exceptions=False) as client:
            body = {"name": "refused"} if method == "POST" else None
            response = dataclasses.replace(tenant, client=client).request(method, path, body)
        assert response.status_code == 403, response.text
        assert response.json()["Error"]["Code"] == PurposeNotAllowed.code
        assert [r["purpose"] for r in _refusals(reopened)] == [purpose]
    finally:
        reopened.close()
