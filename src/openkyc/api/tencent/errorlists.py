"""Every error code each Tencent-compatible action can answer, in Tencent's names.

Derived from the code: the gateway's and the route's refusals (``COMMON``), then what each action's
handler and the OpenKYC service it runs raise, renamed by :func:`~openkyc.api.tencent.envelope.tencent_code`.
docs/tencent.md lists them per action, and the Tencent tests fail when an action answers a code
that is not in its list.
"""

from __future__ import annotations

# any action: signature, credential, app state, rate limits, body, dispatch and parameter checks
COMMON: tuple[str, ...] = (
    "AuthFailure.InvalidAuthorization",
    "AuthFailure.SignatureFailure",
    "AuthFailure.SignatureExpire",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.AppDisabled",
    "InvalidAction",
    "NoSuchVersion",
    "InvalidParameter",
    "InvalidParameterValue",
    "MissingParameter",
    "UnknownParameter",
    "RequestLimitExceeded",
    "RequestSizeLimitExceeded",
    "UnauthorizedOperation.PurposeNotAllowed",
    "InternalError",
)
_IMAGE = (
    "FailedOperation.ImageDecodeFailed",
    "FailedOperation.EmptyImageError",
    "FailedOperation.ImageSizeTooLarge",
)
_FACE_PHOTO = (
    *_IMAGE,
    "FailedOperation.LifePhotoSizeError",
    "FailedOperation.LifePhotoDetectNoFaces",
    "FailedOperation.LifePhotoDetectFaces",
    "FailedOperation.LifePhotoPoorQuality",
    "FailedOperation.LifePhotoFaceTooSmall",
    "FailedOperation.LifePhotoBlurred",
    "FailedOperation.LifePhotoPoseAngle",
    "FailedOperation.LifePhotoIncomplete",
)
_VIDEO = (
    "FailedOperation.VideoDecodeFailed",
    "FailedOperation.VideoDurationExceeded",
    "InvalidParameterValue.VideoSizeTooLarge",
)
# a session (BizToken / SdkToken) is created under the default rule or a named one
_CREATE_SESSION = ("UnauthorizedOperation.IpNotAllowed", "RequestLimitExceeded.ClientAddress")
_READ_TOKEN = ("InvalidParameterValue.BizTokenIllegal",)
_READ_SDK_TOKEN = (*_READ_TOKEN, "InvalidParameterValue.BizTokenExpired")
_OCR = (
    *_IMAGE,
    "FailedOperation.IdCardTooSmall",
    "FailedOperation.ImageNoIdCard",
    "FailedOperation.ImageNoSpecifiedCard",
    "FailedOperation.OcrFailed",
    "UnsupportedOperation",  # ImageUrl / BackImageUrl: OpenKYC fetches no URLs
)
_NOT_SERVED = ("UnsupportedOperation",)

ACTION_ERRORS: dict[str, tuple[str, ...]] = {
    "CompareFaceLiveness": (
        *_FACE_PHOTO,
        *_VIDEO,
        "InvalidParameterValue.LivenessActions",
        "ResourceNotFound.ReflectSequence",
        "InvalidParameterValue.ReflectSequenceUsed",
    ),
    "ApplyWebVerificationBizTokenIntl": (
        *_FACE_PHOTO,
        *_CREATE_SESSION,
        "InvalidParameterValue.RedirectUrl",
        "InvalidParameterValue.RuleIdNotExist",
        "UnsupportedOperation",  # an IDCardType OpenKYC has no reader for
    ),
    "GetWebVerificationResultIntl": _READ_TOKEN,
    "ApplyLivenessToken": _CREATE_SESSION,
    "GetLivenessResult": _READ_SDK_TOKEN,
    "GetFaceIdTokenIntl": (*_FACE_PHOTO, *_CREATE_SESSION),
    "GetFaceIdResultIntl": _READ_SDK_TOKEN,
    # UnsupportedOperation: an IdCardType with no reader
    "ApplySdkVerificationToken": (*_FACE_PHOTO, *_CREATE_SESSION, "UnsupportedOperation"),
    "GetSdkVerificationResult": _READ_SDK_TOKEN,
    "GenerateReflectSequence": _NOT_SERVED,
    "DetectReflectLivenessAndCompare": _NOT_SERVED,
    "DetectAIFakeFaces": _NOT_SERVED,
    "MLIDPassportOCR": (*_OCR, "FailedOperation.NoPassport"),
    "HKIDCardOCR": (*_OCR, "FailedOperation.NoHKIDCard"),
    "MLIDCardOCR": (*_OCR, "FailedOperation.NoMASIDCard"),
    "RecognizeIndonesiaIDCardOCR": _OCR,
    "RecognizeSingaporeIDCardOCR": _OCR,
    "RecognizeThaiIDCardOCR": _NOT_SERVED,
}


def errors_of(action: str) -> tuple[str, ...]:
    """Every code ``action`` can answer: the common ones, then its own."""
    return COMMON + tuple(c for c in ACTION_ERRORS.get(action, ()) if c not in COMMON)
