"""The error codes each operation of the native API can answer, for the OpenAPI document.

An operation's list is the union of groups that follow from what it is, read from the document
itself: signed or not (the gateway's authentication and limits), its parameters and JSON body
(validation, body limits), a signed write (``Idempotency-Key``), images or a video in the body
(media decoding), a ``rule_id`` (the rule and its ``ip_allow_list``), a path resource (its
``ResourceNotFound.*``), a model (``FailedOperation.*`` on faces, a full model queue); plus the
codes its own service raises (:data:`OWN`). ``tests/openapi_contract.py`` checks every error the
API tests receive against these lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from openkyc.api.gateway import needs_signature
from openkyc.api.schemas import MODEL_OPERATIONS

Codes = Mapping[int, tuple[str, ...]]

ALWAYS: Codes = {  # the gateway reads and checks every request's path, query and body first
    400: ("InvalidParameter.MalformedJSON", "InvalidParameterValue.NulCharacter"),
    408: ("RequestTimeout.BodyRead",),
    413: ("RequestSizeLimitExceeded",),
    500: ("InternalError",),
}
SIGNED: Codes = {
    401: (
        "AuthFailure.MissingAuthHeader",
        "AuthFailure.InvalidAuthorization",
        "AuthFailure.SignatureFailure",
        "AuthFailure.SignatureExpire",
        "AuthFailure.SecretIdNotFound",
        "AuthFailure.SecretIdDisabled",
        "AuthFailure.AppDisabled",
        "AuthFailure.RequestReplayed",
    ),
    403: ("UnauthorizedOperation.PurposeNotAllowed",),
    429: ("RequestLimitExceeded", "RequestLimitExceeded.MonthlyQuota"),
}
PARAMETERS: Codes = {400: ("InvalidParameterValue", "MissingParameter", "InvalidParameterValue.NulCharacter")}
WRITE: Codes = {  # a signed POST, PUT or DELETE may carry an Idempotency-Key
    400: ("InvalidParameterValue.IdempotencyKey",),
    409: ("ResourceInUse.IdempotencyKey",),
    422: ("InvalidParameterValue.IdempotencyKeyReused",),
}
MEDIA: Codes = {400: ("InvalidParameterValue.Base64DecodeFailed",)}  # any base64 field of the body
IMAGE: Codes = {
    400: (
        "InvalidParameterValue.ImageDecodeFailed",
        "InvalidParameterValue.ImageEmpty",
        "InvalidParameterValue.ImageTruncated",
        "InvalidParameterValue.ImageAnimated",
        "InvalidParameterValue.ImageBitDepthUnsupported",
        "InvalidParameterValue.ImageSizeTooLarge",
        "InvalidParameterValue.ImageTooSmall",
        "InvalidParameterValue.UnsupportedImageFormat",
    )
}
VIDEO: Codes = {
    400: (
        "InvalidParameterValue.VideoDecodeFailed",
        "InvalidParameterValue.VideoEmpty",
        "InvalidParameterValue.VideoIsImage",
        "InvalidParameterValue.VideoNoVideoStream",
        "InvalidParameterValue.VideoSizeTooLarge",
        "InvalidParameterValue.VideoDurationExceeded",
        "InvalidParameterValue.UnsupportedVideoFormat",
    ),
    422: ("FailedOperation.LivessNoFace",),  # no face in any frame: the check cannot be judged
}
LIVENESS: Codes = {  # the liveness parameters of the body (mode, actions, reflection sequence, challenge)
    400: (
        "InvalidParameterValue.LivenessMode",
        "InvalidParameterValue.LivenessActions",
        "InvalidParameterValue.LivenessChallenge",
        "InvalidParameterValue.LivenessChallengeSession",
        "InvalidParameterValue.LivenessChallengeUsed",
        "InvalidParameterValue.ReflectSequenceUsed",
    ),
    404: ("ResourceNotFound.ReflectSequence", "ResourceNotFound.LivenessChallenge"),
}
RULE: Codes = {404: ("ResourceNotFound.Rule",), 403: ("UnauthorizedOperation.IpNotAllowed",)}
FACES: Codes = {
    422: (
        "FailedOperation.LifePhotoDetectNoFaces",
        "FailedOperation.LifePhotoDetectFaces",
        "FailedOperation.LifePhotoFaceTooSmall",
        "FailedOperation.LifePhotoBlurred",
        "FailedOperation.LifePhotoIncomplete",
        "FailedOperation.LifePhotoPoorQuality",
        "FailedOperation.LifePhotoPoseAngle",
        "FailedOperation.ActionLightDark",
        "FailedOperation.ActionLightStrong",
    ),
    501: ("UnsupportedOperation.EmbedderUnavailable",),
}
MODEL: Codes = {503: ("ResourceUnavailable.ServerBusy",)}
LIST: Codes = {400: ("InvalidParameterValue.Cursor", "InvalidParameterValue.Limit", "InvalidParameterValue.AppId")}
MANAGEMENT: Codes = {403: ("UnauthorizedOperation.RoleNotAllowed",), 404: ("ResourceNotFound.App",)}
HOSTED: Codes = {  # the hosted page's calls: the BizToken is the credential
    403: (
        "UnauthorizedOperation.SessionFinished",
        "UnauthorizedOperation.NoticeNotAccepted",
        "UnauthorizedOperation.IpNotAllowed",
        "UnauthorizedOperation.PurposeNotAllowed",
    ),
    429: ("RequestLimitExceeded.ClientAddress",),
}

# path parameter: the code of a resource the caller's app does not hold
NOT_FOUND = {
    "collection_id": "ResourceNotFound.Collection",
    "subject_id": "ResourceNotFound.Subject",
    "rule_id": "ResourceNotFound.Rule",
    "verification_id": "ResourceNotFound.Verification",
    "biz_token": "ResourceNotFound.Session",
    "request_id": "ResourceNotFound.Request",
    "app_id": "ResourceNotFound.App",
    "secret_id": "ResourceNotFound.Credential",
    "delivery_id": "ResourceNotFound.WebhookDelivery",
}
IMAGE_FIELDS = frozenset({"image", "images", "image_a", "image_b", "compare_image", "document_image"})
LIST_OPERATIONS_PREFIX = "List"
MANAGEMENT_OPERATIONS = frozenset(
    {"CreateApp", "DisableApp", "EnableApp", "CreateCredential", "RotateCredential", "DisableCredential"}
)

# the codes an operation's own service raises, beyond its groups
OWN: dict[str, Codes] = {
    "CreateRule": {400: ("InvalidParameterValue.RuleNameExists", "InvalidParameterValue.RetentionExceedsPolicy")},
    "ModifyRule": {
        400: ("InvalidParameterValue.RuleNameExists", "InvalidParameterValue.RetentionExceedsPolicy"),
        409: ("FailedOperation.ConcurrentUpdate",),
    },
    "CreateCollection": {400: ("InvalidParameterValue.CollectionNameExists",), 501: FACES[501]},
    "CreateSubject": {400: ("InvalidParameterValue.SubjectExists",), 422: ("FailedOperation.DuplicateFace",)},
    "ReplaceSubjectPhoto": {422: ("FailedOperation.DuplicateFace",)},
    "SearchFaces": {400: ("InvalidParameter.ImageOrImages",)},
    "RecognizeDocument": {422: ("FailedOperation.DocumentNotFound",)},
    "VerifyIdentity": {422: ("FailedOperation.DocumentNotFound",)},
    "CreateSession": {400: ("InvalidParameterValue.RedirectUrl", "InvalidParameterValue.CheckMode")},
    "SubmitSessionVideo": {
        400: ("InvalidParameterValue.LivenessMode",),
        404: ("ResourceNotFound.ReflectSequence",),
        409: ("ResourceInUse.Attempt",),
        422: ("FailedOperation.DocumentNotFound",),
    },
    "AnswerSessionNotice": {400: ("InvalidParameterValue.LivenessMode",)},
    "CreateSessionChallenge": {400: ("InvalidParameterValue.LivenessMode",)},
    "CreateSessionReflectSequence": {400: ("InvalidParameterValue.LivenessMode",)},
    "RecordConsent": {400: ("InvalidParameterValue.Purpose",)},
    "WithdrawConsent": {400: ("InvalidParameterValue.Purpose",)},
    "AddImprovementSample": {400: ("InvalidParameterValue.Dataset",), 403: ("UnauthorizedOperation.ConsentRequired",)},
    "DescribeUsage": {
        400: ("InvalidParameterValue.Date", "InvalidParameterValue.DateRange", "InvalidParameterValue.DateOutOfRange")
    },
    "DescribeBill": {400: ("InvalidParameterValue.Month", "InvalidParameterValue.DateOutOfRange")},
    "ListVerifications": {400: ("InvalidParameterValue.DateRange",)},
    "DisableCredential": {400: ("InvalidParameterValue.CredentialDisabled",)},
    "RotateCredential": {400: ("InvalidParameterValue.CredentialDisabled",)},
    "DeleteSubject": {404: ("ResourceNotFound.Collection",)},
}


def codes(
    operation_id: str, method: str, path: str, operation: Mapping[str, Any], body: Mapping[str, Any] | None
) -> dict[int, list[str]]:
    """Status -> codes for one operation of the document; ``body``: its request body's schema."""
    groups: list[Codes] = [ALWAYS]
    if signed(path):
        groups.append(SIGNED)
        if method.upper() in {"POST", "PUT", "DELETE"}:
            groups.append(WRITE)
    if path.startswith("/verify/"):
        groups.append(HOSTED)
    if operation.get("parameters"):
        groups.append(PARAMETERS)
    fields = set((body or {}).get("properties", {}))
    if "requestBody" in operation:
        groups.append(PARAMETERS)
    if fields & (IMAGE_FIELDS | {"video"}):
        groups.append(MEDIA)
    if fields & IMAGE_FIELDS:
        groups.append(IMAGE)
    if "video" in fields:
        groups.append(VIDEO)
    if fields & {"mode", "reflect_sequence_id", "challenge_id"} and "video" in fields:
        groups.append(LIVENESS)
    if "rule_id" in fields:
        groups.append(RULE)
    if operation_id in MODEL_OPERATIONS:
        groups += [FACES, MODEL]
    if operation_id.startswith(LIST_OPERATIONS_PREFIX) and path.startswith("/v1/"):
        groups.append(LIST)
    if operation_id.startswith(LIST_OPERATIONS_PREFIX) or operation_id in MANAGEMENT_OPERATIONS:
        groups.append(MANAGEMENT)
    groups.append({404: tuple(NOT_FOUND[name] for name in _path_parameters(path) if name in NOT_FOUND)})
    groups.append(OWN.get(operation_id, {}))
    return _union(groups)


def signed(path: str) -> bool:
    """Whether the path's operations are signed (TC3-HMAC-SHA256)."""
    return needs_signature(path) or path == "/"


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _union(groups: Iterable[Codes]) -> dict[int, list[str]]:
    merged: dict[int, list[str]] = defaultdict(list)
    for group in groups:
        for status, found in group.items():
            merged[status] += [code for code in found if code not in merged[status]]
    return {status: found for status, found in sorted(merged.items()) if found}
