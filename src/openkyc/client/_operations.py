"""One typed method per operation of the OpenAPI document (its ``operationId`` in snake_case).

``OPERATIONS`` names each method's operation, HTTP method and path; ``tests/client`` checks it
against the served OpenAPI document (every operation has a method, every body field and query
parameter a keyword of the same name), so client and server cannot drift apart unnoticed.

The methods are grouped by context: :mod:`._account_operations`, :mod:`._verification_operations`
and :mod:`._management_operations`, on the transport's base in :mod:`._operations_base`.
"""

from __future__ import annotations

from openkyc.client._account_operations import AccountOperations
from openkyc.client._management_operations import ManagementOperations
from openkyc.client._operations_base import R, T
from openkyc.client._verification_operations import VerificationOperations

__all__ = ["OPERATIONS", "Operations"]

# method name: (operationId, HTTP method, path template)
OPERATIONS: dict[str, tuple[str, str, str]] = {
    "health": ("Health", "GET", "/v1/health"),
    "describe_account": ("DescribeAccount", "GET", "/v1/account"),
    "describe_request": ("DescribeRequest", "GET", "/v1/requests/{request_id}"),
    "create_rule": ("CreateRule", "POST", "/v1/rules"),
    "describe_rule": ("DescribeRule", "GET", "/v1/rules/{rule_id}"),
    "modify_rule": ("ModifyRule", "PUT", "/v1/rules/{rule_id}"),
    "describe_rule_history": ("DescribeRuleHistory", "GET", "/v1/rules/{rule_id}/history"),
    "detect_face": ("DetectFace", "POST", "/v1/faces/detect"),
    "compare_face": ("CompareFace", "POST", "/v1/faces/compare"),
    "create_collection": ("CreateCollection", "POST", "/v1/collections"),
    "describe_collection": ("DescribeCollection", "GET", "/v1/collections/{collection_id}"),
    "create_subject": ("CreateSubject", "POST", "/v1/collections/{collection_id}/subjects"),
    "search_faces": ("SearchFaces", "POST", "/v1/collections/{collection_id}/search"),
    "delete_subject": ("DeleteSubject", "DELETE", "/v1/collections/{collection_id}/subjects/{subject_id}"),
    "create_reflect_sequence": ("CreateReflectSequence", "POST", "/v1/liveness/reflect-sequences"),
    "detect_liveness": ("DetectLiveness", "POST", "/v1/liveness"),
    "verify_selfie": ("VerifySelfie", "POST", "/v1/verifications/selfie"),
    "describe_verification": ("DescribeVerification", "GET", "/v1/verifications/{verification_id}"),
    "recognize_document": ("RecognizeDocument", "POST", "/v1/documents/ocr"),
    "verify_identity": ("VerifyIdentity", "POST", "/v1/verifications/identity"),
    "create_session": ("CreateSession", "POST", "/v1/sessions"),
    "describe_session_result": ("DescribeSessionResult", "GET", "/v1/sessions/{biz_token}/result"),
    "verification_page": ("VerificationPage", "GET", "/verify/{biz_token}"),
    "create_session_reflect_sequence": ("CreateSessionReflectSequence", "POST", "/verify/{biz_token}/sequence"),
    "submit_session_video": ("SubmitSessionVideo", "POST", "/verify/{biz_token}/submit"),
    "record_consent": ("RecordConsent", "POST", "/v1/privacy/consents"),
    "withdraw_consent": ("WithdrawConsent", "POST", "/v1/privacy/consents/withdraw"),
    "add_improvement_sample": ("AddImprovementSample", "POST", "/v1/improvement/samples"),
    "describe_subject_data": ("DescribeSubjectData", "GET", "/v1/privacy/subjects/{subject_id}"),
    "download_subject_data": ("DownloadSubjectData", "GET", "/v1/privacy/subjects/{subject_id}/export.zip"),
    "erase_subject": ("EraseSubject", "POST", "/v1/privacy/subjects/{subject_id}/erase"),
    "describe_session_data": ("DescribeSessionData", "GET", "/v1/privacy/sessions/{biz_token}"),
    "erase_session_data": ("EraseSessionData", "POST", "/v1/privacy/sessions/{biz_token}/erase"),
    "describe_record_of_processing": ("DescribeRecordOfProcessing", "GET", "/v1/privacy/ropa"),
    "describe_usage": ("DescribeUsage", "GET", "/v1/usage"),
    "describe_bill": ("DescribeBill", "GET", "/v1/bills/{month}"),
    "tencent_action": ("TencentAction", "POST", "/"),
    "readiness": ("Readiness", "GET", "/v1/health/ready"),
    "create_liveness_challenge": ("CreateLivenessChallenge", "POST", "/v1/liveness/challenges"),
    "answer_session_notice": ("AnswerSessionNotice", "POST", "/verify/{biz_token}/notice"),
    "create_session_challenge": ("CreateSessionChallenge", "POST", "/verify/{biz_token}/challenge"),
    "check_session_document": ("CheckSessionDocument", "POST", "/verify/{biz_token}/document"),
    # management (operators): paged lists (limit, cursor) and administrative changes
    "list_apps": ("ListApps", "GET", "/v1/apps"),
    "create_app": ("CreateApp", "POST", "/v1/apps"),
    "disable_app": ("DisableApp", "POST", "/v1/apps/{app_id}/disable"),
    "enable_app": ("EnableApp", "POST", "/v1/apps/{app_id}/enable"),
    "list_credentials": ("ListCredentials", "GET", "/v1/credentials"),
    "create_credential": ("CreateCredential", "POST", "/v1/credentials"),
    "rotate_credential": ("RotateCredential", "POST", "/v1/credentials/{secret_id}/rotate"),
    "disable_credential": ("DisableCredential", "POST", "/v1/credentials/{secret_id}/disable"),
    "list_users": ("ListUsers", "GET", "/v1/users"),
    "list_rules": ("ListRules", "GET", "/v1/rules"),
    "list_collections": ("ListCollections", "GET", "/v1/collections"),
    "delete_collection": ("DeleteCollection", "DELETE", "/v1/collections/{collection_id}"),
    "list_subjects": ("ListSubjects", "GET", "/v1/collections/{collection_id}/subjects"),
    "replace_subject_photo": (
        "ReplaceSubjectPhoto",
        "PUT",
        "/v1/collections/{collection_id}/subjects/{subject_id}/photo",
    ),
    "list_verifications": ("ListVerifications", "GET", "/v1/verifications"),
    "list_sessions": ("ListSessions", "GET", "/v1/sessions"),
    "list_audit_records": ("ListAuditRecords", "GET", "/v1/audit-log"),
    "list_webhook_deliveries": ("ListWebhookDeliveries", "GET", "/v1/webhooks/deliveries"),
    "redeliver_webhook": ("RedeliverWebhook", "POST", "/v1/webhooks/deliveries/{delivery_id}/redeliver"),
}


class Operations(AccountOperations[T, R], VerificationOperations[T, R], ManagementOperations[T, R]):
    """Every operation; ``_call`` (JSON answers) and ``_call_raw`` (bytes) are the transport's."""
