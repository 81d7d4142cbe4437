"""The data map's tables of the end users' data (``biometrics``, ``liveness``, ``verification``,
the blob store): enrolled subjects and their collections and template keys, liveness challenges and
colour sequences, verification results and hosted sessions, sealed files; and what the sealed
columns and blob files hold, field by field (:data:`SEALED_FIELDS`, :data:`BLOB_FILES`).
"""

from __future__ import annotations

from openkyc.privacy.datamap_columns import (
    ACCOUNT_LIFETIME,
    IDENTIFICATION,
    NOT_PERSONAL,
    RECORD,
    STATUS,
    ColumnUse,
    E,
    K,
    TableMap,
)
from openkyc.privacy.vocabulary import DataCategory, DataElement

END_USER_TABLES: dict[str, TableMap] = {
    "collections": TableMap(
        {
            "id": (E.RESOURCE_ATTRIBUTES,),
            "app_id": (E.APP_ID,),
            "duplicate_check": (E.RESOURCE_ATTRIBUTES,),
            "embedder": (E.RESOURCE_ATTRIBUTES,),
            "created_at": NOT_PERSONAL,
        },
        note=ACCOUNT_LIFETIME,
        reach="biometrics.enrolments",
    ),
    "template_keys": TableMap(
        {
            "key_id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "secret_enc": (E.SECURITY_SETTINGS,),
            "bits": (E.SECURITY_SETTINGS,),
            "template_version": (E.SECURITY_SETTINGS,),
            "active": (E.SECURITY_SETTINGS,),
            "created_at": NOT_PERSONAL,
        },
        note=ACCOUNT_LIFETIME,
        reach="biometrics.enrolments",
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
        reach="biometrics.enrolments",
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
            "image_blob_id": (E.FACE_IMAGE,),  # names the sealed photo's blob
            "created_at": NOT_PERSONAL,
        },
        retention=(K.FACE_TEMPLATE, K.ENROLMENT_IDENTIFICATION),
        reach="biometrics.enrolments",
        exported={
            "subject_id": ColumnUse.of(E.SUBJECT_ID),  # its keyed hash
            "subject_id_enc": ColumnUse.of(E.SUBJECT_ID),  # the id, sealed under the subject key
            "template": ColumnUse.of(E.TEMPLATE),  # sealed under the subject key
            "identification_enc": IDENTIFICATION,
            "image_blob_id": ColumnUse.of(E.FACE_IMAGE),
        },
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
        reach="liveness.challenges",
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
        reach="verification.results",
    ),
    "blobs": TableMap(
        {
            "id": (E.FACE_IMAGE, E.FACE_VIDEO, E.DOCUMENT_IMAGE),  # names the sealed file (by kind)
            "app_id": (E.APP_ID,),
            "kind": NOT_PERSONAL,
            "subject_id": (E.SUBJECT_ID,),
            "size": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
            "key_version": NOT_PERSONAL,
            "rule_id": (E.RULE,),  # the rule it was stored under: the sweep applies its media_hours
            "rule_recorded": NOT_PERSONAL,  # false on rows older than migration 0018
        },
        retention=(K.FACE_IMAGE, K.FACE_VIDEO, K.DOCUMENT_IMAGE, K.MODEL_IMPROVEMENT_ITEM),
        reach="store.blobs",
        exported={"id": IDENTIFICATION, "subject_id": ColumnUse.of(E.SUBJECT_ID)},  # ``id`` names the sealed file
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
            "rule_id": (E.RULE,),  # the rule it was made under: the sweep applies its result_hours
            "rule_recorded": NOT_PERSONAL,  # false on rows older than migration 0018
        },
        retention=(K.VERIFICATION_RESULT,),
        reach="verification.results",
        exported={
            "subject_id": ColumnUse.of(E.SUBJECT_ID),
            "subject_id_enc": ColumnUse.of(E.SUBJECT_ID),
            "result_code": STATUS,
            "live": STATUS,
            "sim": STATUS,
            "details": STATUS,
            "identification_enc": IDENTIFICATION,
        },
    ),
    "verification_sessions": TableMap(
        {
            "biz_token": (E.OPERATION_STATUS,),
            "app_id": (E.APP_ID,),
            "rule_id": (E.RULE,),
            "redirect_url": (E.RESOURCE_ATTRIBUTES,),
            "compare_blob_id": (E.FACE_IMAGE,),  # names the sealed reference photo's blob
            "extra_enc": (E.SUBJECT_ID,),  # the customer's sealed pass-through data
            "actions": (E.OPERATION_STATUS,),
            "state": (E.OPERATION_STATUS,),
            "attempts": (E.OPERATION_STATUS,),
            "result_id": (E.OPERATION_STATUS,),  # the session's verification result
            "check_mode": (E.OPERATION_STATUS,),
            "liveness_mode": (E.OPERATION_STATUS,),
            "consent_id": (E.CONSENT_RECORD,),  # the notice consent recorded by the hosted page
            "last_reply": (E.OPERATION_STATUS,),  # the last attempt's answer (ids and result codes)
            "document_options": (E.RULE,),  # the session's document types and expiry choice over its rule
            "language": NOT_PERSONAL,
            "last_attempt_id": NOT_PERSONAL,  # a random id the page makes per upload
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
        },
        retention=(K.VERIFICATION_SESSION,),
        reach="verification.sessions",
        exported={
            "biz_token": ColumnUse.of(DataCategory.DIAGNOSTIC_USAGE),
            "redirect_url": ColumnUse.of(DataCategory.DIAGNOSTIC_USAGE),
            "compare_blob_id": ColumnUse.of(E.FACE_IMAGE),
            "extra_enc": IDENTIFICATION,
            "state": STATUS,
            "attempts": STATUS,
            "result_id": STATUS,
            "actions": STATUS,
            "check_mode": STATUS,
            "liveness_mode": STATUS,
            "consent_id": RECORD,
            "last_reply": STATUS,
        },
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
