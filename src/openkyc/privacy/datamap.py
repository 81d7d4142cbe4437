"""Where each element of the policy is stored, and who exports and erases it: the one schema walk.

:data:`TABLES` is the single declaration of every column of every table: which policy elements it
holds (``()``: not personal data — ids, times, flags, hashes, key material), which retention kinds
delete its rows, which subject-rights step (:mod:`openkyc.privacy.reach`) exports and erases them
(``reach``), and how that step labels each column it exports per person (``exported``). The steps
take their ``covers`` and ``plain`` columns from here (:func:`covers_of`, :func:`plain_of`), so a
new column is classified once. :func:`schema_problems` walks a schema against it: a table or column
not classified here, a table whose step is not registered, or a column of a person's data that no
step exports, is a problem (``tests/privacy/test_datamap.py`` fails on each).
:data:`SEALED_FIELDS` names the elements inside sealed (encrypted JSON) columns, field by field;
blob *files* (images, videos, document images) are described by :data:`BLOB_FILES`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from openkyc.privacy.vocabulary import DataCategory, DataElement, RetentionKind

__all__ = [
    "BLOB_FILES",
    "SEALED_FIELDS",
    "TABLES",
    "ColumnUse",
    "TableMap",
    "covers_of",
    "elements_stored",
    "not_reached",
    "plain_of",
    "schema_problems",
]

E = DataElement
K = RetentionKind
NOT_PERSONAL: tuple[DataElement, ...] = ()


@dataclass(frozen=True)
class ColumnUse:
    """How a subject-rights export labels a column: its policy element, or (``element=None``) only
    its category, for a column holding several elements (a sealed JSON object, a blob file)."""

    element: DataElement | None
    category: DataCategory

    @classmethod
    def of(cls, item: DataElement | DataCategory) -> ColumnUse:
        if isinstance(item, DataElement):
            return cls(item, item.category)
        return cls(None, item)


@dataclass(frozen=True)
class TableMap:
    columns: dict[str, tuple[DataElement, ...]]
    retention: tuple[RetentionKind, ...] = ()
    note: str = ""  # why rows live as long as they do, where no retention kind applies
    reach: str | None = None  # the subject-rights step exporting and erasing the rows (None: ``note`` says why)
    exported: Mapping[str, ColumnUse] = field(default_factory=dict)  # columns exported per person, labelled

    def personal_columns(self) -> dict[str, tuple[DataElement, ...]]:
        return {name: elements for name, elements in self.columns.items() if elements}


# A person's own data: exported to them and erased per person (staff: their user row).
_PERSON_CATEGORIES = {DataCategory.IDENTIFICATION, DataCategory.FACE_FEATURES}
_PERSON_ELEMENTS = {E.CONNECTIVITY, E.USER_ID, E.USER_NAME, E.PASSWORD_HASH}
_RECORD = ColumnUse.of(E.CONSENT_RECORD)
_STATUS = ColumnUse.of(E.OPERATION_STATUS)
_IDENTIFICATION = ColumnUse.of(DataCategory.IDENTIFICATION)

_ACCOUNT_LIFETIME = "Account and configuration data: kept while the account (or app) exists."

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

TABLES: dict[str, TableMap] = {
    "accounts": TableMap(
        {"id": (E.ACCOUNT_ID,), "name": (E.RESOURCE_NAME,), "created_at": NOT_PERSONAL},
        note=_ACCOUNT_LIFETIME,
        reach="accounts.account",
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
            "failed_logins": (E.SECURITY_SETTINGS,),
            "locked_until": (E.SECURITY_SETTINGS,),
            "last_login_at": (E.SECURITY_SETTINGS,),
        },
        note=_ACCOUNT_LIFETIME,
        reach="accounts.staff",
        exported={
            "id": ColumnUse.of(E.USER_ID),
            "user_name": ColumnUse.of(E.USER_NAME),
            "password_hash": ColumnUse.of(E.PASSWORD_HASH),
        },
    ),
    "console_sessions": TableMap(
        {
            "token_hash": (E.SECURITY_SETTINGS,),
            "user_id": NOT_PERSONAL,  # a reference to the users row
            "csrf_token": (E.SECURITY_SETTINGS,),
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
        },
        note="Console sign-ins: removed at sign-out and when they expire (OPENKYC_CONSOLE_SESSION_HOURS).",
        reach="accounts.staff",  # erasing the user deletes them (ON DELETE CASCADE)
    ),
    "webhook_deliveries": TableMap(
        {
            "id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "event": NOT_PERSONAL,
            "url": (E.SERVICE_SETTINGS,),  # the customer's endpoint, from the rule
            "body": (E.OPERATION_STATUS,),  # ids and result codes only, never personal data
            "state": (E.OPERATION_STATUS,),
            "attempts": (E.OPERATION_STATUS,),
            "last_status": (E.OPERATION_STATUS,),
            "last_error": (E.ERROR,),
            "next_attempt_at": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
            "delivered_at": NOT_PERSONAL,
            "history": (E.OPERATION_STATUS,),  # per attempt: time, HTTP status, error class
        },
        retention=(K.WEBHOOK_DELIVERY,),
        reach="accounts.account",  # offboarding deletes them with the apps (ON DELETE CASCADE)
    ),
    "apps": TableMap(
        {
            "id": (E.APP_ID,),
            "account_id": (E.ACCOUNT_ID,),
            "name": (E.RESOURCE_NAME,),
            "created_at": NOT_PERSONAL,
            "qps_limit": (E.SERVICE_SETTINGS,),
            "monthly_quota": (E.SERVICE_SETTINGS,),
            "disabled_at": (E.SERVICE_SETTINGS,),
        },
        note=_ACCOUNT_LIFETIME,
        reach="accounts.account",
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
        reach="accounts.account",
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
        reach="accounts.account",
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
        reach="accounts.account",
    ),
    "rule_changes": TableMap(
        {
            "id": NOT_PERSONAL,
            "rule_id": (E.RESOURCE_ATTRIBUTES,),
            "version": (E.RULE,),
            "changed_by": (E.SECURITY_SETTINGS,),  # the SecretId of the credential that made the change
            "changed_at": NOT_PERSONAL,
            "old_config": (E.RULE,),
            "new_config": (E.RULE,),
        },
        note="Rule versions are kept for the audit trail while the app exists.",
        reach="accounts.account",
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
        note=_ACCOUNT_LIFETIME,
        reach="biometrics.enrolments",
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
            "identification_enc": _IDENTIFICATION,
            "image_blob_id": ColumnUse.of(E.FACE_IMAGE),
        },
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
        },
        retention=(K.FACE_IMAGE, K.FACE_VIDEO, K.DOCUMENT_IMAGE, K.MODEL_IMPROVEMENT_ITEM),
        reach="store.blobs",
        exported={"id": _IDENTIFICATION, "subject_id": ColumnUse.of(E.SUBJECT_ID)},  # ``id`` names the sealed file
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
        reach="verification.results",
        exported={
            "subject_id": ColumnUse.of(E.SUBJECT_ID),
            "subject_id_enc": ColumnUse.of(E.SUBJECT_ID),
            "result_code": _STATUS,
            "live": _STATUS,
            "sim": _STATUS,
            "details": _STATUS,
            "identification_enc": _IDENTIFICATION,
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
            "extra_enc": _IDENTIFICATION,
            "state": _STATUS,
            "attempts": _STATUS,
            "result_id": _STATUS,
            "actions": _STATUS,
            "check_mode": _STATUS,
            "liveness_mode": _STATUS,
            "consent_id": _RECORD,
            "last_reply": _STATUS,
        },
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
        exported=dict.fromkeys(("subject_id", "purpose", "text_version", "granted_at", "withdrawn_at"), _RECORD),
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
        exported={"subject_id": _RECORD, "kind": _RECORD, "blob_ref": ColumnUse.of(E.FACE_IMAGE)},
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
        exported={"response_enc": _IDENTIFICATION},
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


def covers_of(step: str) -> dict[str, dict[str, ColumnUse]]:
    """The columns ``step`` exports per person, by table (its ``covers``)."""
    return {table: dict(spec.exported) for table, spec in TABLES.items() if spec.reach == step}


def plain_of(step: str) -> dict[str, tuple[str, ...]]:
    """The other columns of ``step``'s tables (ids, times, account data erased with the account)."""
    return {
        table: tuple(c for c in spec.columns if c not in spec.exported)
        for table, spec in TABLES.items()
        if spec.reach == step
    }


def not_reached() -> dict[str, str]:
    """Tables no subject-rights step reaches, each with the reason (its note)."""
    return {table: spec.note for table, spec in TABLES.items() if spec.reach is None}


def _of_a_person(elements: Iterable[DataElement]) -> bool:
    return any(e.category in _PERSON_CATEGORIES or e in _PERSON_ELEMENTS for e in elements)


def schema_problems(
    schema: Mapping[str, Iterable[str]], steps: Collection[str], tables: Mapping[str, TableMap] | None = None
) -> list[str]:
    """What is wrong with ``tables`` (default :data:`TABLES`) against ``schema`` (table -> column
    names) and the registered subject-rights ``steps`` (their names); empty when nothing is.

    A table or column the map does not classify; a classified one the schema lacks; a table whose
    step is not registered, or that no step reaches without a reason; a column of a person's own
    data (identification, face features, client address, a staff user's id, name or password
    hash) that its step does not export; an exported column that holds no personal data.
    """
    tables = TABLES if tables is None else tables
    problems = []
    for table, names in sorted(schema.items()):
        columns = list(names)
        spec = tables.get(table)
        if spec is None:
            problems.append(f"{table}: table not classified by the data map (openkyc.privacy.datamap.TABLES)")
            continue
        for column in columns:
            if column not in spec.columns:
                problems.append(f"{table}.{column}: column not classified (name the policy elements it holds, or ())")
        problems += [f"{table}.{c}: classified but not in the schema" for c in spec.columns if c not in columns]
        if spec.reach is None:
            if not spec.note:
                problems.append(f"{table}: no subject-rights step reaches it and no note says why")
            continue
        if spec.reach not in steps:
            problems.append(f"{table}: its export/erase step {spec.reach!r} is not registered")
        for column, elements in spec.columns.items():
            if _of_a_person(elements) and column not in spec.exported:
                problems.append(f"{table}.{column}: a person's data that no step exports and erases")
        for column in spec.exported:
            if not spec.columns.get(column):
                problems.append(f"{table}.{column}: exported, but classified as holding no personal data")
    problems += [f"{table}: classified but not in the schema" for table in tables if table not in schema]
    return problems
