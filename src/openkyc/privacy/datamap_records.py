"""The data map's tables of records the service keeps about its own processing (``privacy`` core,
``store``, ``diagnostics``): key material, replay protection, the audit log and erasure receipts,
call records, consents and model-improvement items, stored idempotent answers
(:data:`ANSWER_ELEMENTS`: what such an answer can hold).
"""

from __future__ import annotations

from openkyc.privacy.datamap_columns import IDENTIFICATION, NOT_PERSONAL, RECORD, ColumnUse, E, K, TableMap
from openkyc.privacy.vocabulary import DataElement

# What a stored idempotent answer can hold (``idempotent_answers.response_enc``); the store checks each
# route's declaration against it (openkyc.store.idempotency, openkyc.api.idempotency.ANSWERS)
ANSWER_ELEMENTS: tuple[DataElement, ...] = (
    E.RULE,
    E.RESOURCE_ATTRIBUTES,
    E.KEYPOINTS,
    E.NAME,
    E.ADDRESS,
    E.ID_NUMBER,
    E.COUNTRY,
    E.DATE_OF_BIRTH,
    E.SEX,
    E.DOCUMENT_TYPE,
    E.DOCUMENT_EXPIRY,
    E.OPTIONAL_DATA,
    E.SUBJECT_ID,
    E.CONSENT_RECORD,
    E.FACE_IMAGE,
    E.OPERATION_STATUS,
    E.APP_ID,
    E.RESOURCE_NAME,
    E.SECURITY_SETTINGS,
)

RECORD_TABLES: dict[str, TableMap] = {
    "data_keys": TableMap(
        {
            "id": NOT_PERSONAL,
            "wrapped_key": NOT_PERSONAL,
            "master_key_id": NOT_PERSONAL,
            "active": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
        },
        note="Key material, no personal data.",
    ),
    "seen_signatures": TableMap(
        {"signature": NOT_PERSONAL, "expires_at": NOT_PERSONAL},
        note="Replay protection: deleted when the signature's clock window has passed (seen_signatures step).",
    ),
    "audit_log": TableMap(
        {
            "id": NOT_PERSONAL,
            "seq": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "actor": (E.USER_NAME,),
            "event_type": NOT_PERSONAL,
            "details": NOT_PERSONAL,  # ids and counts only; never a subject id or personal data
            "prev_hash": NOT_PERSONAL,
            "hash": NOT_PERSONAL,
            "mac": NOT_PERSONAL,  # HMAC of the hash under the audit key (docs/audit.md)
        },
        note="The append-only audit log is the accountability record; it holds no end-user data.",
        reach="accounts.staff",
        exported={"actor": ColumnUse.of(E.USER_ID)},
    ),
    "audit_keys": TableMap(
        {
            "id": NOT_PERSONAL,
            "wrapped_key": NOT_PERSONAL,
            "master_key_id": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
        },
        note="The audit log's signing key, wrapped by the master key: key material, no personal data.",
    ),
    "erasure_receipts": TableMap(
        {
            "receipt_id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "subject_ref": (E.SUBJECT_ID,),  # salted hash of the subject id
            "requested_at": NOT_PERSONAL,
            "completed_at": NOT_PERSONAL,
            "items": NOT_PERSONAL,
        },
        note=(
            "Proof that an erasure was done (GDPR Art. 5(2)); the subject only as a salted hash. "
            "Kept while the app exists."
        ),
    ),
    "call_records": TableMap(
        {
            "request_id": (E.CALL_RECORD,),
            "app_id": (E.APP_ID,),
            "secret_id": (E.SECURITY_SETTINGS,),
            "action": (E.CALL_RECORD,),
            "method": (E.CALL_RECORD,),
            "route": (E.CALL_RECORD,),
            "status_code": (E.OPERATION_STATUS,),
            "error_code": (E.ERROR,),
            "result_code": (E.OPERATION_STATUS,),
            "billable": (E.CALL_RECORD,),
            "duration_ms": (E.PERFORMANCE,),
            "client_ip": (E.CONNECTIVITY,),
            "created_at": NOT_PERSONAL,
        },
        retention=(K.CALL_RECORD, K.REQUEST_LOG, K.CLIENT_ADDRESS),
        reach="diagnostics.call_records",
        exported={"client_ip": ColumnUse.of(E.CONNECTIVITY)},
    ),
    "consents": TableMap(
        {
            "id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "subject_id": (E.SUBJECT_ID,),
            "purpose": (E.CONSENT_RECORD,),
            "text_version": (E.CONSENT_RECORD,),
            "granted_at": (E.CONSENT_RECORD,),
            "withdrawn_at": (E.CONSENT_RECORD,),
        },
        retention=(K.CONSENT_RECORD,),
        reach="privacy.consents",
        exported=dict.fromkeys(("subject_id", "purpose", "text_version", "granted_at", "withdrawn_at"), RECORD),
    ),
    "model_improvement_items": TableMap(
        {
            "id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "subject_id": (E.SUBJECT_ID,),
            "consent_id": NOT_PERSONAL,
            "kind": (E.CONSENT_RECORD,),  # what the consented item is ("face_image:<dataset>")
            "blob_ref": (E.FACE_IMAGE,),  # names the sealed sample's blob
            "created_at": NOT_PERSONAL,
        },
        retention=(K.MODEL_IMPROVEMENT_ITEM,),
        reach="privacy.consents",
        exported={"subject_id": RECORD, "kind": RECORD, "blob_ref": ColumnUse.of(E.FACE_IMAGE)},
    ),
    "idempotency_keys": TableMap(
        {
            "app_id": (E.APP_ID,),
            "key": NOT_PERSONAL,
            "request_hash": NOT_PERSONAL,
            "state": NOT_PERSONAL,
            "status_code": NOT_PERSONAL,
            "content_type": NOT_PERSONAL,
            # a stored 2xx answer, sealed: whatever a route's answer holds (openkyc.store.idempotency.
            # ANSWER_ELEMENTS, each route's share declared in openkyc.api.idempotency.ANSWERS): a rule,
            # a collection, keypoints, the fields read from a document, subject ids, consents, the best
            # frame of a liveness check, result codes
            "response_enc": ANSWER_ELEMENTS,
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
        },
        retention=(K.FACE_IMAGE,),
        note="Expires after OPENKYC_IDEMPOTENCY_TTL_SECONDS, never later than the face_image period.",
        reach="store.idempotent_answers",
        exported={"response_enc": IDENTIFICATION},
    ),
}
