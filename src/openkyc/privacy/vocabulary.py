"""The fixed words of the data-processing policy: purposes, data categories and data elements.

The policy file (``policy.yaml``) says what each word allows; code refers to the words only
through these enums, so a typo is a type error rather than a silently refused (or allowed) use.
"""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    """Why personal data is processed (DESIGN.md section 1)."""

    PROVIDE_FEATURES = "provide_features"
    MAINTAIN_CONFIGURATION = "maintain_configuration"
    TROUBLESHOOTING = "troubleshooting"
    BILLING = "billing"
    MODEL_IMPROVEMENT = "model_improvement"


class Obligation(StrEnum):
    """Processing the law requires of the service itself, whatever the policy's purposes allow.

    Stated at the storage boundary like a purpose (the blob store and repositories take either),
    recorded by the gate as a decision, and never refused: a narrower policy must not stop
    deletions the law requires or a data subject's rights (GDPR Art. 6(1)(c)). The policy file
    describes them under ``obligations`` (``policy.yaml``).
    """

    RETENTION = "retention"  # storage limitation, Art. 5(1)(e): the sweeps delete what expired
    SUBJECT_RIGHTS = "subject_rights"  # Art. 7(3), 15-20: access, export, erasure, withdrawn consent


class DataCategory(StrEnum):
    """The five categories of data the service holds."""

    ACCOUNT = "account"
    CONFIGURATION = "configuration"
    DIAGNOSTIC_USAGE = "diagnostic_usage"
    FACE_FEATURES = "face_features"
    IDENTIFICATION = "identification"


class DataElement(StrEnum):
    """One kind of data inside a category; the value is ``<category>.<element>``."""

    ACCOUNT_ID = "account.account_id"
    APP_ID = "account.app_id"
    USER_NAME = "account.user_name"
    USER_ID = "account.user_id"
    PASSWORD_HASH = "account.password_hash"
    RESOURCE_NAME = "account.resource_name"

    RESOURCE_ATTRIBUTES = "configuration.resource_attributes"
    RULE = "configuration.rule"
    SERVICE_SETTINGS = "configuration.service_settings"
    SECURITY_SETTINGS = "configuration.security_settings"

    PERFORMANCE = "diagnostic_usage.performance"
    OPERATION_STATUS = "diagnostic_usage.operation_status"
    ERROR = "diagnostic_usage.error"
    CONNECTIVITY = "diagnostic_usage.connectivity"
    CALL_RECORD = "diagnostic_usage.call_record"

    KEYPOINTS = "face_features.keypoints"
    TEMPLATE = "face_features.template"

    NAME = "identification.name"
    ADDRESS = "identification.address"
    ID_NUMBER = "identification.id_number"
    COUNTRY = "identification.country"
    DATE_OF_BIRTH = "identification.date_of_birth"
    SEX = "identification.sex"
    DOCUMENT_TYPE = "identification.document_type"
    DOCUMENT_EXPIRY = "identification.document_expiry"
    OPTIONAL_DATA = "identification.optional_data"
    SUBJECT_ID = "identification.subject_id"
    CONSENT_RECORD = "identification.consent_record"
    FACE_IMAGE = "identification.face_image"
    FACE_VIDEO = "identification.face_video"
    DOCUMENT_IMAGE = "identification.document_image"

    @property
    def category(self) -> DataCategory:
        return DataCategory(self.value.split(".", 1)[0])

    @property
    def short_name(self) -> str:
        return self.value.split(".", 1)[1]


def elements_of(category: DataCategory) -> tuple[DataElement, ...]:
    return tuple(element for element in DataElement if element.category is category)


class RetentionKind(StrEnum):
    """A kind of stored record with its own maximum retention (the retention sweep's unit)."""

    FACE_IMAGE = "face_image"
    FACE_VIDEO = "face_video"
    DOCUMENT_IMAGE = "document_image"
    VERIFICATION_RESULT = "verification_result"
    ENROLMENT_IDENTIFICATION = "enrolment_identification"
    VERIFICATION_SESSION = "verification_session"
    FACE_TEMPLATE = "face_template"
    CALL_RECORD = "call_record"
    REQUEST_LOG = "request_log"
    CLIENT_ADDRESS = "client_address"
    MODEL_IMPROVEMENT_ITEM = "model_improvement_item"
    WEBHOOK_DELIVERY = "webhook_delivery"
    CONSENT_RECORD = "consent_record"


class LegalBasis(StrEnum):
    """GDPR Article 6 and 9 grounds used by the policy."""

    CONTRACT = "contract"
    LEGITIMATE_INTEREST = "legitimate_interest"
    EXPLICIT_CONSENT = "explicit_consent"
