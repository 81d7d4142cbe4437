"""Seeds one person's data into every store directly (no models), for the subject-rights tests."""

from __future__ import annotations

import io
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from PIL import Image

from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.templates import FaceTemplate
from openkyc.logs import request_id_var
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.vocabulary import Purpose
from openkyc.store import idempotency
from openkyc.store.models.accounts import Resource
from openkyc.store.models.diagnostics import CallRecord
from openkyc.store.models.faces import Collection
from openkyc.store.models.verification import VerificationSession
from openkyc.verification.repository import ResultRepository
from openkyc.verification.sessions import session_aad

IDENT = {
    "name": "Quentin Marlowe-Ashby",
    "id_number": "X9922771",
    "date_of_birth": "1979-04-23",
    "address": "12 Rue des Lilas, Lyon",
    "country": "FRA",
}
# the ten fields an identity verification reads from a TD3 passport MRZ
MRZ_FIELDS = {
    "document_code": "P",
    "issuing_state": "UTO",
    "surname": "ERIKSSON",
    "given_names": "ANNA MARIA",
    "document_number": "L898902C3",
    "nationality": "UTO",
    "birth_date": "1974-08-12",
    "sex": "F",
    "expiry_date": "2032-04-15",
    "optional_data": "ZE184226B",
}
END_USER_IP = "203.0.113.7"
SERVER_IP = "198.51.100.20"


def png(colour: tuple[int, int, int] = (120, 90, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Seeded:
    app_id: int
    subject_id: str
    biz_token: str
    collection_id: str
    verification_ids: list[str] = field(default_factory=list)
    blob_ids: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)


def _call(app_id: int, route: str, ip: str, when: Any, request_id: str | None = None) -> CallRecord:
    return CallRecord(
        request_id=request_id or "req-" + secrets.token_hex(8),
        app_id=app_id,
        secret_id=None if route.startswith("/verify/") else "AKID-test",
        action="Test",
        method="POST",
        route=route,
        status_code=200,
        error_code=None,
        result_code=None,
        billable=False,
        duration_ms=1.0,
        client_ip=ip,
        created_at=when,
    )


def seed_person(runtime: Any, app_id: int, subject_id: str) -> Seeded:
    """An enrolment (identification, template, image), an identity verification (all MRZ fields,
    liveness evidence) from a signed call, a hosted session (reference photo, extra, its result from
    the end user's browser), consent and a consented item, an idempotent answer and call records."""
    now = runtime.clock()
    gate, keyring, blobs = runtime.gate, runtime.keyring, runtime.blobs
    token = secrets.token_urlsafe(24)
    collection_id = "col-" + secrets.token_hex(6)
    seeded = Seeded(app_id, subject_id, token, collection_id)
    later = now + timedelta(hours=2)
    with runtime.transaction() as session:  # consent first, committed: the gate reads committed consents
        ConsentRepository(session, gate, clock=runtime.clock).record(
            app_id, subject_id, Purpose.MODEL_IMPROVEMENT, "v3", purpose=Purpose.MODEL_IMPROVEMENT
        )
    with runtime.transaction() as session:
        session.add(Resource(id=collection_id, app_id=app_id, kind="collection", name=collection_id, created_at=now))
        session.flush()
        session.add(
            Collection(id=collection_id, app_id=app_id, duplicate_check=False, embedder="sface", created_at=now)
        )
        session.flush()
        image = blobs.put(
            session,
            app_id=app_id,
            kind="face_image",
            data=png(),
            now=now,
            expires_at=later,
            subject_id=subject_id,
            purpose=Purpose.PROVIDE_FEATURES,
        )
        SubjectRepository(session, gate, keyring).add(
            app_id, collection_id, subject_id,
            template=FaceTemplate("tk-1", 1024, secrets.token_bytes(128)).to_bytes(), template_version=1, key_id="tk-1",
            identification=IDENT, image_blob_id=image, now=now, purpose=Purpose.PROVIDE_FEATURES,
        )  # fmt: skip
        results = ResultRepository(session, gate, keyring)
        signed = "req-" + secrets.token_hex(8)
        reset = request_id_var.set(signed)
        try:
            identity = results.add(
                app_id, kind="identity", subject_id=subject_id, result_code="Success", live=True, sim=91.5,
                details={"liveness": {"live": True, "score": 97.0, "evidence": {"blink": 2}}, "document": {"code": "Success"}},
                identification=MRZ_FIELDS, now=now, expires_at=now + timedelta(hours=72),
                purpose=Purpose.PROVIDE_FEATURES,
            )  # fmt: skip
        finally:
            request_id_var.reset(reset)
        hosted = "req-" + secrets.token_hex(8)
        reset = request_id_var.set(hosted)
        try:
            from_page = results.add(
                app_id, kind="selfie", subject_id=None, result_code="Success", live=True, sim=88.0,
                details={"liveness": {"live": True, "score": 95.0}}, identification=None,
                now=now, expires_at=now + timedelta(hours=72), purpose=Purpose.PROVIDE_FEATURES,
            )  # fmt: skip
        finally:
            request_id_var.reset(reset)
        reference = blobs.put(
            session,
            app_id=app_id,
            kind="face_image",
            data=png((10, 200, 30)),
            now=now,
            expires_at=later,
            purpose=Purpose.PROVIDE_FEATURES,
        )
        session.add(
            VerificationSession(
                biz_token=runtime.subject_keys.token_ref(token), app_id=app_id, rule_id=None,
                redirect_url="https://customer.example/done?u=77",
                compare_blob_id=reference, extra_enc=keyring.encrypt(b"customer-ref-77", session_aad(token, app_id)),
                actions=["blink"], state="completed", attempts=1, result_id=from_page,
                created_at=now, expires_at=now + timedelta(minutes=30),
            )
        )  # fmt: skip
        consents = ConsentRepository(session, gate, clock=runtime.clock)
        sample = blobs.put(
            session, app_id=app_id, kind="face_image", data=png((1, 2, 3)), now=now,
            expires_at=now + timedelta(days=365), subject_id=subject_id, purpose=Purpose.PROVIDE_FEATURES,
        )  # fmt: skip
        consents.add_item(app_id, subject_id, "face_image:default", sample, purpose=Purpose.MODEL_IMPROVEMENT)
        key = "idem-" + secrets.token_hex(4)
        idempotency.claim(session, keyring, app_id, key, "h" * 64, now, timedelta(hours=24))
        body = json.dumps({"subject_id": subject_id, "collection_id": collection_id}).encode()
        idempotency.complete(session, keyring, app_id, key, 200, "application/json", body)
        session.add_all(
            [
                _call(app_id, "/v1/verifications/identity", SERVER_IP, now, signed),
                _call(app_id, "/verify/{biz_token}/submit", END_USER_IP, now + timedelta(minutes=2), hosted),
                _call(app_id, "/verify/{biz_token}", END_USER_IP, now + timedelta(minutes=1)),  # same person
                _call(app_id, "/verify/{biz_token}", "192.0.2.99", now + timedelta(minutes=1)),  # someone else
            ]
        )
    seeded.verification_ids = [identity, from_page]
    seeded.blob_ids = [image, reference, sample]
    seeded.request_ids = [signed, hosted]
    return seeded
