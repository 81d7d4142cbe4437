"""Answer models of the HTTP API, for the OpenAPI document and the contract tests.

Each model describes the JSON an operation sends (``extra="forbid"``: fixed fields; evidence and
audit details, which differ by mode or event, are the only open objects).
:mod:`openkyc.api.openapi` puts them in the document by operation id; the test client checks every
JSON answer the API tests receive against them (``tests/openapi_contract.py``), so the document
cannot claim a field the service does not send, or miss one it does.
"""

from __future__ import annotations

from pydantic import BaseModel

from openkyc.api.schemas import core, documents, faces, management, privacy, verification
from openkyc.api.schemas.common import Answer, ErrorDetail, ErrorEnvelope, TencentEnvelope, TencentResponse
from openkyc.privacy.ropa import RecordOfProcessing

# operation id: the model of its JSON 2xx answer
ANSWERS: dict[str, type[BaseModel]] = {
    "Health": core.HealthAnswer,
    "Readiness": core.ReadinessAnswer,
    "DescribeAccount": core.AccountAnswer,
    "DescribeRequest": core.RequestRecordAnswer,
    "CreateRule": core.RuleAnswer,
    "DescribeRule": core.RuleAnswer,
    "ModifyRule": core.RuleAnswer,
    "DescribeRuleHistory": core.RuleHistoryAnswer,
    "DescribeUsage": core.UsageAnswer,
    "DescribeBill": core.BillAnswer,
    "DetectFace": faces.DetectFaceAnswer,
    "CompareFace": faces.CompareFaceAnswer,
    "CreateCollection": faces.CollectionAnswer,
    "DescribeCollection": faces.DescribeCollectionAnswer,
    "DeleteCollection": faces.DeleteCollectionAnswer,
    "ListCollections": faces.CollectionsPage,
    "CreateSubject": faces.SubjectAnswer,
    "ReplaceSubjectPhoto": faces.ReplacePhotoAnswer,
    "DeleteSubject": faces.DeleteSubjectAnswer,
    "ListSubjects": faces.SubjectsPage,
    "SearchFaces": faces.SearchAnswer,
    "CreateReflectSequence": verification.ReflectSequenceAnswer,
    "CreateLivenessChallenge": verification.ChallengeAnswer,
    "DetectLiveness": verification.LivenessAnswer,
    "VerifySelfie": verification.SelfieAnswer,
    "VerifyIdentity": verification.IdentityAnswer,
    "DescribeVerification": verification.VerificationAnswer,
    "ListVerifications": verification.VerificationsPage,
    "RecognizeDocument": documents.DocumentAnswer,
    "CreateSession": verification.SessionAnswer,
    "DescribeSessionResult": verification.SessionResultAnswer,
    "ListSessions": verification.SessionsPage,
    "AnswerSessionNotice": verification.NoticeAnswer,
    "CreateSessionReflectSequence": verification.ReflectSequence,
    "CreateSessionChallenge": verification.Challenge,
    "SubmitSessionVideo": verification.SubmitAnswer,
    "CheckSessionDocument": verification.DocumentSideAnswer,
    "RecordConsent": privacy.ConsentAnswer,
    "WithdrawConsent": privacy.WithdrawalAnswer,
    "AddImprovementSample": privacy.SampleAnswer,
    "DescribeSubjectData": privacy.SubjectDataAnswer,
    "DescribeSessionData": privacy.SubjectDataAnswer,
    "EraseSubject": privacy.ErasureAnswer,
    "EraseSessionData": privacy.ErasureAnswer,
    "DescribeRecordOfProcessing": RecordOfProcessing,
    "ListApps": management.AppsPage,
    "CreateApp": management.CreateAppAnswer,
    "DisableApp": management.AppAnswer,
    "EnableApp": management.AppAnswer,
    "ListCredentials": management.CredentialsPage,
    "CreateCredential": management.IssuedCredentialAnswer,
    "RotateCredential": management.RotatedCredentialAnswer,
    "DisableCredential": management.CredentialAnswer,
    "ListUsers": management.UsersPage,
    "ListRules": management.RulesPage,
    "ListAuditRecords": management.AuditPage,
    "ListWebhookDeliveries": management.DeliveriesPage,
    "RedeliverWebhook": management.DeliveryAnswer,
    "TencentAction": TencentEnvelope,
}

# operations whose 2xx answer is not JSON (or not only): media type -> what it is
OTHER_CONTENT: dict[str, dict[str, str]] = {
    "VerificationPage": {"text/html": "The hosted verification page (or a page saying the link is not open)."},
    "DownloadSubjectData": {"application/zip": "The export as a ZIP: export.json and the stored files."},
    "DescribeSubjectData": {"application/zip": "With ?format=zip: the export as a ZIP archive."},
    "DescribeSessionData": {"application/zip": "With ?format=zip: the export as a ZIP archive."},
    "DescribeBill": {"text/csv": "With ?format=csv: one row per action and a TOTAL row."},
    "DescribeRecordOfProcessing": {
        "text/markdown": "The default (?format=md).",
        "text/html": "With ?format=html: a standalone page.",
    },
}

# operations that run a model: a check that failed on understood input (422), a full model queue (503)
MODEL_OPERATIONS = frozenset(
    {
        "DetectFace",
        "CompareFace",
        "CreateSubject",
        "ReplaceSubjectPhoto",
        "SearchFaces",
        "DetectLiveness",
        "VerifySelfie",
        "RecognizeDocument",
        "VerifyIdentity",
        "CreateSession",
        "SubmitSessionVideo",
        "CheckSessionDocument",
        "AddImprovementSample",
    }
)

__all__ = [
    "ANSWERS",
    "MODEL_OPERATIONS",
    "OTHER_CONTENT",
    "Answer",
    "ErrorDetail",
    "ErrorEnvelope",
    "TencentEnvelope",
    "TencentResponse",
]
