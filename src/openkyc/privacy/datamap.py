"""Where each element of the policy is stored: every column of every table, classified.

:data:`TABLES` names, for every table of the schema, which policy elements each column holds
(``()``: not personal data — ids, times, flags, hashes, key material, references to other rows)
and which retention kinds delete its rows. :data:`SEALED_FIELDS` names the elements inside sealed
(encrypted JSON) columns, field by field. Tests walk the schema and the document readers and fail
when a column or a field is not classified here, so a new store of personal data cannot go
unnamed by the policy. Blob *files* (images, videos, document images) are described by
:data:`BLOB_FILES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from openkyc.privacy.vocabulary import DataElement, RetentionKind

__all__ = ["BLOB_FILES", "SEALED_FIELDS", "TABLES", "TableMap", "elements_stored"]

E = DataElement
K = RetentionKind
NOT_PERSONAL: tuple[DataElement, ...] = ()


@dataclass(frozen=True)
class TableMap:
    columns: dict[str, tuple[DataElement, ...]]
    retention: tuple[RetentionKind, ...] = ()
    note: str = ""  # why rows live as long as they do, where no retention kind applies

    def personal_columns(self) -> dict[str, tuple[DataElement, ...]]:
        return {name: elements for name, elements in self.columns.items() if elements}


_ACCOUNT_LIFETIME = "Account and configuration data: kept while the account (or app) exists."

TABLES: dict[str, TableMap] = {
    "accounts": TableMap(
        {"id": (E.ACCOUNT_ID,), "name": (E.RESOURCE_NAME,), "created_at": NOT_PERSONAL}, note=_ACCOUNT_LIFETIME
    ),
    "users": TableMap(
        {
            "id": (E.USER_ID,),
            "account_id": (E.ACCOUNT_ID,),
            "user_name": (E.USER_NAME,),
            "password_hash": (E.PASSWORD_HASH,),
            "role": (E.SECURITY_SETTINGS,),
            "disabled": (E.SECURITY_SETTINGS,),
            "created_at": NOT_PERSONAL,
        },
        note=_ACCOUNT_LIFETIME,
    ),
    "apps": TableMap(
        {
            "id": (E.APP_ID,),
            "account_id": (E.ACCOUNT_ID,),
            "name": (E.RESOURCE_NAME,),
            "created_at": NOT_PERSONAL,
            "qps_limit": (E.SERVICE_SETTINGS,),
            "monthly_quota": (E.SERVICE_SETTINGS,),
        },
        note=_ACCOUNT_LIFETIME,
    ),
    "credentials": TableMap(
        {
            "id": NOT_PERSONAL,
            "secret_id": (E.SECURITY_SETTINGS,),
            "app_id": (E.APP_ID,),
            "secret_key_enc": (E.SECURITY_SETTINGS,),
            "status": (E.SECURITY_SETTINGS,),
            "created_at": NOT_PERSONAL,
            "last_used_at": (E.SECURITY_SETTINGS,),
            "disabled_at": (E.SECURITY_SETTINGS,),
        },
        note=_ACCOUNT_LIFETIME,
    ),
    "resources": TableMap(
        {
            "id": (E.RESOURCE_ATTRIBUTES,),
            "app_id": (E.APP_ID,),
            "kind": (E.RESOURCE_ATTRIBUTES,),
            "name": (E.RESOURCE_NAME,),
            "created_at": NOT_PERSONAL,
        },
        note=_ACCOUNT_LIFETIME,
    ),
    "rules": TableMap(
        {
            "id": (E.RESOURCE_ATTRIBUTES,),
            "app_id": (E.APP_ID,),
            "version": (E.RULE,),
            "config": (E.RULE,),
            "created_at": NOT_PERSONAL,
            "updated_at": NOT_PERSONAL,
        },
        note=_ACCOUNT_LIFETIME,
    ),
    "rule_changes": TableMap(
        {
            "id": NOT_PERSONAL,
            "rule_id": (E.RESOURCE_ATTRIBUTES,),
            "version": (E.RULE,),
            "changed_by": (E.USER_NAME,),
            "changed_at": NOT_PERSONAL,
            "old_config": (E.RULE,),
            "new_config": (E.RULE,),
        },
        note="Rule versions are kept for the audit trail while the app exists.",
    ),
    "collections": TableMap(
        {
            "id": (E.RESOURCE_ATTRIBUTES,),
            "app_id": (E.APP_ID,),
            "duplicate_check": (E.RESOURCE_ATTRIBUTES,),
            "embedder": (E.RESOURCE_ATTRIBUTES,),
            "created_at": NOT_PERSONAL,
        },
        note=_ACCOUNT_LIFETIME,
    ),
    "template_keys": TableMap(
        {
            "key_id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "secret_enc": (E.SECURITY_SETTINGS,),
            "bits": (E.SECURITY_SETTINGS,),
            "active": (E.SECURITY_SETTINGS,),
            "created_at": NOT_PERSONAL,
        },
        note=_ACCOUNT_LIFETIME,
    ),
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
    "index_events": TableMap(
        {
            "id": NOT_PERSONAL,
            "collection_id": NOT_PERSONAL,
            "subject_row": NOT_PERSONAL,
            "op": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
        },
        note="Row numbers and operations only.",
    ),
    "liveness_challenges": TableMap(
        {
            "id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "session_ref": NOT_PERSONAL,  # keyed hash of a BizToken
            "schedule": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
            "used_at": NOT_PERSONAL,
        },
        note="Random timed challenges (actions and colours); deleted when expired (liveness_challenges step).",
    ),
    "reflect_sequences": TableMap(
        {
            "id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "sequence": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
            "used_at": NOT_PERSONAL,
        },
        note="Random colour sequences; deleted when expired (reflect_sequences step).",
    ),
    "subjects": TableMap(
        {
            "id": NOT_PERSONAL,
            "collection_id": (E.RESOURCE_ATTRIBUTES,),
            "app_id": (E.APP_ID,),
            "subject_id": (E.SUBJECT_ID,),  # a keyed hash (openkyc.store.subject_keys)
            "subject_id_enc": (E.SUBJECT_ID,),  # the id, sealed under the subject's key
            "template": (E.TEMPLATE,),
            "template_version": NOT_PERSONAL,
            "key_id": NOT_PERSONAL,
            "identification_enc": (E.NAME, E.ID_NUMBER, E.DATE_OF_BIRTH, E.ADDRESS, E.COUNTRY),
            "image_blob_id": NOT_PERSONAL,  # a reference; the photo is a blob
            "created_at": NOT_PERSONAL,
        },
        retention=(K.FACE_TEMPLATE, K.ENROLMENT_IDENTIFICATION),
    ),
    "blobs": TableMap(
        {
            "id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "kind": NOT_PERSONAL,
            "subject_id": (E.SUBJECT_ID,),
            "size": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
            "key_version": NOT_PERSONAL,
        },
        retention=(K.FACE_IMAGE, K.FACE_VIDEO, K.DOCUMENT_IMAGE, K.MODEL_IMPROVEMENT_ITEM),
    ),
    "verification_results": TableMap(
        {
            "id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "kind": (E.OPERATION_STATUS,),
            "subject_id": (E.SUBJECT_ID,),  # a keyed hash
            "subject_id_enc": (E.SUBJECT_ID,),  # the id, sealed under the subject's key
            "result_code": (E.OPERATION_STATUS,),
            "live": (E.OPERATION_STATUS,),
            "sim": (E.OPERATION_STATUS,),
            "details": (E.OPERATION_STATUS,),  # codes, scores and evidence; no document fields
            "identification_enc": (
                E.NAME,
                E.ID_NUMBER,
                E.DATE_OF_BIRTH,
                E.ADDRESS,
                E.COUNTRY,
                E.SEX,
                E.DOCUMENT_TYPE,
                E.DOCUMENT_EXPIRY,
                E.OPTIONAL_DATA,
            ),
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
        },
        retention=(K.VERIFICATION_RESULT,),
    ),
    "verification_sessions": TableMap(
        {
            "biz_token": (E.OPERATION_STATUS,),
            "app_id": (E.APP_ID,),
            "rule_id": (E.RULE,),
            "redirect_url": (E.RESOURCE_ATTRIBUTES,),
            "compare_blob_id": NOT_PERSONAL,  # a reference; the photo is a blob
            "extra_enc": (E.SUBJECT_ID,),  # the customer's sealed pass-through data
            "actions": (E.OPERATION_STATUS,),
            "state": (E.OPERATION_STATUS,),
            "attempts": (E.OPERATION_STATUS,),
            "result_id": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
        },
        retention=(K.VERIFICATION_SESSION,),
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
    ),
    "model_improvement_items": TableMap(
        {
            "id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "subject_id": (E.SUBJECT_ID,),
            "consent_id": NOT_PERSONAL,
            "kind": NOT_PERSONAL,
            "blob_ref": NOT_PERSONAL,  # a reference; the sample is a blob
            "created_at": NOT_PERSONAL,
        },
        retention=(K.MODEL_IMPROVEMENT_ITEM,),
    ),
    "idempotency_keys": TableMap(
        {
            "app_id": (E.APP_ID,),
            "key": NOT_PERSONAL,
            "request_hash": NOT_PERSONAL,
            "state": NOT_PERSONAL,
            "status_code": NOT_PERSONAL,
            "content_type": NOT_PERSONAL,
            # a stored 2xx answer, sealed: the best frame of a liveness check, ids and result codes
            "response_enc": (E.FACE_IMAGE, E.SUBJECT_ID, E.OPERATION_STATUS),
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
        },
        retention=(K.FACE_IMAGE,),
        note="Expires after OPENKYC_IDEMPOTENCY_TTL_SECONDS, never later than the face_image period.",
    ),
}

# Inside sealed JSON columns: field name -> element.
_DOCUMENT_FIELDS: dict[str, DataElement] = {
    "surname": E.NAME,
    "given_names": E.NAME,
    "name": E.NAME,
    "document_number": E.ID_NUMBER,
    "birth_date": E.DATE_OF_BIRTH,
    "birth_date_iso": E.DATE_OF_BIRTH,
    "sex": E.SEX,
    "nationality": E.COUNTRY,
    "issuing_state": E.COUNTRY,
    "place_of_birth_code": E.COUNTRY,
    "region_code": E.ADDRESS,
    "address": E.ADDRESS,
    "document_code": E.DOCUMENT_TYPE,
    "expiry_date": E.DOCUMENT_EXPIRY,
    "expiry_date_iso": E.DOCUMENT_EXPIRY,
    "optional_data": E.OPTIONAL_DATA,
    "optional_data_2": E.OPTIONAL_DATA,
}
_ENROLMENT_FIELDS: dict[str, DataElement] = {
    "name": E.NAME,
    "id_number": E.ID_NUMBER,
    "date_of_birth": E.DATE_OF_BIRTH,
    "address": E.ADDRESS,
    "country": E.COUNTRY,
}

SEALED_FIELDS: dict[str, dict[str, DataElement]] = {
    "verification_results.identification_enc": _DOCUMENT_FIELDS,
    "subjects.identification_enc": _ENROLMENT_FIELDS,
}

# Blob files (under the data directory, sealed): blob kind -> element.
BLOB_FILES: dict[str, DataElement] = {
    "face_image": E.FACE_IMAGE,
    "best_frame": E.FACE_IMAGE,
    "video": E.FACE_VIDEO,
    "document_image": E.DOCUMENT_IMAGE,
}


def elements_stored() -> frozenset[DataElement]:
    """Every element some column, sealed field or blob file holds."""
    found = {e for table in TABLES.values() for elements in table.columns.values() for e in elements}
    found |= {e for fields in SEALED_FIELDS.values() for e in fields.values()}
    found |= set(BLOB_FILES.values())
    return frozenset(found)
