"""The one error tree of OpenKYC.

Every error carries an HTTP status and a stable code string named like Tencent Cloud's; one handler
in :mod:`openkyc.api.errors` renders them all into the single JSON envelope::

    {"Error": {"Code": "...", "Message": "..."}, "RequestId": "..."}

Messages never contain personal data (names, ID numbers, images, templates).

Hierarchy::

    OpenKYCError (500 InternalError)
    ├── InvalidParameter (400)
    │   ├── MalformedJSON                       InvalidParameter.MalformedJSON
    │   └── InvalidParameterValue (400)         InvalidParameterValue[.*]
    │       ├── NulCharacter                    InvalidParameterValue.NulCharacter
    │       ├── DateOutOfRange                  InvalidParameterValue.DateOutOfRange
    │       ├── ImageDecodeFailed               InvalidParameterValue.ImageDecodeFailed
    │       ├── ImageSizeTooLarge               InvalidParameterValue.ImageSizeTooLarge
    │       ├── ImageTooSmall                   InvalidParameterValue.ImageTooSmall
    │       ├── UnsupportedImageFormat          InvalidParameterValue.UnsupportedImageFormat
    │       ├── VideoDecodeFailed               InvalidParameterValue.VideoDecodeFailed
    │       ├── VideoTooLarge                   InvalidParameterValue.VideoSizeTooLarge
    │       ├── VideoDurationExceeded           InvalidParameterValue.VideoDurationExceeded
    │       ├── VideoIsImage                    InvalidParameterValue.VideoIsImage
    │       ├── VideoNoVideoStream              InvalidParameterValue.VideoNoVideoStream
    │       ├── VideoEmpty                      InvalidParameterValue.VideoEmpty
    │       ├── UnsupportedVideoFormat          InvalidParameterValue.UnsupportedVideoFormat
    │       ├── RetentionExceedsPolicy          InvalidParameterValue.RetentionExceedsPolicy
    │       └── IdempotencyKeyReused (422)      InvalidParameterValue.IdempotencyKeyReused
    ├── MissingParameter (400)                  MissingParameter
    ├── AuthFailure (401)
    │   ├── SignatureFailure                    AuthFailure.SignatureFailure
    │   ├── SignatureExpire                     AuthFailure.SignatureExpire
    │   ├── SecretIdNotFound                    AuthFailure.SecretIdNotFound
    │   ├── MissingAuthHeader                   AuthFailure.MissingAuthHeader (alias of missing Authorization)
    │   ├── InvalidAuthorization                AuthFailure.InvalidAuthorization
    │   ├── CredentialDisabled                  AuthFailure.SecretIdDisabled
    │   └── ReplayedRequest                     AuthFailure.RequestReplayed
    ├── UnauthorizedOperation (403)             UnauthorizedOperation[.*]
    │   ├── PurposeNotAllowed                   UnauthorizedOperation.PurposeNotAllowed / .ConsentRequired
    │   └── IpNotAllowed                        UnauthorizedOperation.IpNotAllowed (rule's security.ip_allow_list)
    ├── ResourceNotFound (404)                  ResourceNotFound[.*]
    ├── UnsupportedOperation (405)              UnsupportedOperation.MethodNotAllowed
    │   └── EmbedderUnavailable (501)           UnsupportedOperation.EmbedderUnavailable
    ├── RequestTimeout (408)                    RequestTimeout.BodyRead
    ├── IdempotencyKeyInProgress (409)          ResourceInUse.IdempotencyKey
    ├── RequestSizeLimitExceeded (413)          RequestSizeLimitExceeded
    ├── FailedOperation (422)                   FailedOperation.*  (the input was understood, the check failed)
    │   ├── SweepInProgress                     FailedOperation.SweepInProgress
    │   └── ConcurrentUpdate (409)              FailedOperation.ConcurrentUpdate
    ├── RequestLimitExceeded (429)              RequestLimitExceeded            (with Retry-After)
    ├── ResourceUnavailable (503)               ResourceUnavailable[.*]
    │   └── ServerBusy                          ResourceUnavailable.ServerBusy  (with Retry-After)
    └── InternalError (500)                     InternalError

An error may carry ``retry_after`` (seconds); the envelope then adds a ``Retry-After`` header.
"""

from __future__ import annotations

from typing import ClassVar


class OpenKYCError(Exception):
    """Root of every OpenKYC error. Subclasses set ``status_code`` and ``code``."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "InternalError"
    default_message: ClassVar[str] = "An internal error occurred."

    def __init__(self, message: str | None = None, *, code: str | None = None, retry_after: int | None = None) -> None:
        self.message = message or self.default_message
        self._code = code
        self.retry_after = retry_after  # seconds, sent as the ``Retry-After`` header when set
        super().__init__(self.message)

    @property
    def error_code(self) -> str:
        """The stable code; an instance may narrow its class code (``FailedOperation.X``)."""
        return self._code or self.code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.error_code!r}, message={self.message!r})"


class InternalError(OpenKYCError):
    pass


class ModelIntegrityError(InternalError):
    code = "InternalError.ModelIntegrity"
    default_message = "A model file is missing or does not match its recorded sha256."


class ModelNotAllowed(InternalError):
    code = "InternalError.ModelLicenceNotAllowed"
    default_message = "A model whose licence forbids commercial use is configured."


class InvalidParameter(OpenKYCError):
    status_code = 400
    code = "InvalidParameter"
    default_message = "A parameter is invalid."


class MalformedJSON(InvalidParameter):
    code = "InvalidParameter.MalformedJSON"
    default_message = "The request body is not valid JSON."


class InvalidParameterValue(InvalidParameter):
    code = "InvalidParameterValue"
    default_message = "A parameter value is invalid."


class NulCharacter(InvalidParameterValue):
    """A NUL character (U+0000) in a path, query or body string: no id or text may hold one."""

    code = "InvalidParameterValue.NulCharacter"
    default_message = "Ids and text may not contain the NUL character (U+0000)."


class DateOutOfRange(InvalidParameterValue):
    code = "InvalidParameterValue.DateOutOfRange"
    default_message = "The date is outside the supported range."


class ImageDecodeFailed(InvalidParameterValue):
    code = "InvalidParameterValue.ImageDecodeFailed"
    default_message = "The image could not be decoded."


class ImageSizeTooLarge(InvalidParameterValue):
    code = "InvalidParameterValue.ImageSizeTooLarge"
    default_message = "The image is too large."


class ImageTooSmall(InvalidParameterValue):
    code = "InvalidParameterValue.ImageTooSmall"
    default_message = "The image is too small."


class UnsupportedImageFormat(InvalidParameterValue):
    code = "InvalidParameterValue.UnsupportedImageFormat"
    default_message = "The image format is not supported."


class ImageEmpty(ImageDecodeFailed):
    code = "InvalidParameterValue.ImageEmpty"
    default_message = "The image is empty (zero bytes)."


class ImageTruncated(ImageDecodeFailed):
    code = "InvalidParameterValue.ImageTruncated"
    default_message = "The image file is truncated."


class ImageAnimated(UnsupportedImageFormat):
    code = "InvalidParameterValue.ImageAnimated"
    default_message = "Animated images are not supported; send a single still image."


class ImageBitDepthUnsupported(UnsupportedImageFormat):
    code = "InvalidParameterValue.ImageBitDepthUnsupported"
    default_message = "Only 8-bit images are supported."


class TemplateMismatch(InvalidParameterValue):
    code = "InvalidParameterValue.FaceTemplateMismatch"
    default_message = "The face templates were made with different keys, versions or sizes."


class TemplateMalformed(InvalidParameterValue):
    code = "InvalidParameterValue.FaceTemplateMalformed"
    default_message = "The face template is malformed."


class VideoDecodeFailed(InvalidParameterValue):
    code = "InvalidParameterValue.VideoDecodeFailed"
    default_message = "The video could not be decoded."


class VideoTooLarge(InvalidParameterValue):
    code = "InvalidParameterValue.VideoSizeTooLarge"
    default_message = "The video is too large."


class VideoDurationExceeded(InvalidParameterValue):
    code = "InvalidParameterValue.VideoDurationExceeded"
    default_message = "The video is too long."


class VideoIsImage(InvalidParameterValue):
    code = "InvalidParameterValue.VideoIsImage"
    default_message = "The file is a still image, not a video."


class VideoNoVideoStream(InvalidParameterValue):
    code = "InvalidParameterValue.VideoNoVideoStream"
    default_message = "The file has no video stream."


class VideoEmpty(InvalidParameterValue):
    code = "InvalidParameterValue.VideoEmpty"
    default_message = "The video stream holds no decodable frames."


class UnsupportedVideoFormat(InvalidParameterValue):
    code = "InvalidParameterValue.UnsupportedVideoFormat"
    default_message = "The video container is not supported (MP4, WebM, AVI or MPEG)."


class RetentionExceedsPolicy(InvalidParameterValue):
    code = "InvalidParameterValue.RetentionExceedsPolicy"
    default_message = "A retention period may shorten the policy's maximum, never lengthen it."


class IdempotencyKeyReused(InvalidParameterValue):
    status_code = 422
    code = "InvalidParameterValue.IdempotencyKeyReused"
    default_message = "This Idempotency-Key was used with another method, path or body."


class MissingParameter(OpenKYCError):
    status_code = 400
    code = "MissingParameter"
    default_message = "A required parameter is missing."


class AuthFailure(OpenKYCError):
    status_code = 401
    code = "AuthFailure"
    default_message = "Authentication failed."


class SignatureFailure(AuthFailure):
    code = "AuthFailure.SignatureFailure"
    default_message = "The request signature does not match."


class SignatureExpire(AuthFailure):
    code = "AuthFailure.SignatureExpire"
    default_message = "The request timestamp is more than 5 minutes away from the server time."


class SecretIdNotFound(AuthFailure):
    code = "AuthFailure.SecretIdNotFound"
    default_message = "The SecretId does not exist."


class MissingAuthHeader(AuthFailure):
    code = "AuthFailure.MissingAuthHeader"
    default_message = "The Authorization or X-TC-Timestamp header is missing or repeated."


class InvalidAuthorization(AuthFailure):
    code = "AuthFailure.InvalidAuthorization"
    default_message = "The Authorization header is malformed."


class CredentialDisabled(AuthFailure):
    code = "AuthFailure.SecretIdDisabled"
    default_message = "The credential is disabled."


class ReplayedRequest(AuthFailure):
    code = "AuthFailure.RequestReplayed"
    default_message = "This signed request was already used."


class UnauthorizedOperation(OpenKYCError):
    status_code = 403
    code = "UnauthorizedOperation"
    default_message = "The operation is not allowed."


class PurposeNotAllowed(UnauthorizedOperation):
    code = "UnauthorizedOperation.PurposeNotAllowed"
    default_message = "The data-processing policy does not allow this purpose for this data."


class IpNotAllowed(UnauthorizedOperation):
    code = "UnauthorizedOperation.IpNotAllowed"
    default_message = "The rule does not allow calls from this client address."


class ConsentRequired(UnauthorizedOperation):
    code = "UnauthorizedOperation.ConsentRequired"
    default_message = "This use needs the data subject's recorded explicit consent."


class ResourceNotFound(OpenKYCError):
    status_code = 404
    code = "ResourceNotFound"
    default_message = "The resource does not exist."


class UnsupportedOperation(OpenKYCError):
    status_code = 405
    code = "UnsupportedOperation.MethodNotAllowed"
    default_message = "The method is not allowed on this path."


class EmbedderUnavailable(UnsupportedOperation):
    """A rule or collection asks for a face embedder this deployment lacks (``openkyc[dlib]``)."""

    status_code = 501
    code = "UnsupportedOperation.EmbedderUnavailable"
    default_message = "The requested face embedder is not installed on this server."


class RequestTimeout(OpenKYCError):
    status_code = 408
    code = "RequestTimeout.BodyRead"
    default_message = "The request body did not arrive in time."


class IdempotencyKeyInProgress(OpenKYCError):
    status_code = 409
    code = "ResourceInUse.IdempotencyKey"
    default_message = "A request with this Idempotency-Key is still being processed; retry later."


class RequestSizeLimitExceeded(OpenKYCError):
    status_code = 413
    code = "RequestSizeLimitExceeded"
    default_message = "The request body is too large."


class FailedOperation(OpenKYCError):
    """The input was understood but the check could not be done or failed (no face, ...)."""

    status_code = 422
    code = "FailedOperation"
    default_message = "The operation failed."


class FaceNotFound(FailedOperation):
    code = "FailedOperation.LifePhotoDetectNoFaces"
    default_message = "No face was found in the image."


class MultipleFacesFound(FailedOperation):
    code = "FailedOperation.LifePhotoDetectFaces"
    default_message = "Several faces were found where one is expected."


class FaceQualityTooLow(FailedOperation):
    code = "FailedOperation.LifePhotoPoorQuality"
    default_message = "The face image quality is too low."


class FaceTooDark(FaceQualityTooLow):
    code = "FailedOperation.ActionLightDark"
    default_message = "The face is too dark."


class FaceTooBright(FaceQualityTooLow):
    code = "FailedOperation.ActionLightStrong"
    default_message = "The face is too bright."


class FaceTooSmall(FaceQualityTooLow):
    code = "FailedOperation.LifePhotoFaceTooSmall"
    default_message = "The face is too small."


class FaceBlurred(FaceQualityTooLow):
    code = "FailedOperation.LifePhotoBlurred"
    default_message = "The face is blurred."


class FacePoseTooLarge(FaceQualityTooLow):
    code = "FailedOperation.LifePhotoPoseAngle"
    default_message = "The face is turned too far from the camera."


class FaceIncomplete(FaceQualityTooLow):
    code = "FailedOperation.LifePhotoIncomplete"
    default_message = "The face is cut by the image border."


class DocumentNotFound(FailedOperation):
    code = "FailedOperation.DocumentNotFound"
    default_message = "No document text was found in the image."


class DocumentUnrecognized(FailedOperation):
    code = "FailedOperation.DocumentUnrecognized"
    default_message = "The document has no readable MRZ and matches no ID-card template."


class MrzCheckFailed(FailedOperation):
    code = "FailedOperation.MrzCheckFailed"
    default_message = "A check digit of the machine-readable zone does not hold."


class MrzNotVerified(FailedOperation):
    """The check digits hold, but the reading cannot be vouched for (see ``mrz.invalid``)."""

    code = "FailedOperation.MrzNotVerified"
    default_message = (
        "The machine-readable zone's check digits hold, but a state code is unknown, the visual zone "
        "disagrees, or a character the check digits cannot see was read with low confidence."
    )


class DocumentExpired(FailedOperation):
    code = "FailedOperation.DocumentExpired"
    default_message = "The document has expired."


class DocumentHolderUnderage(FailedOperation):
    code = "FailedOperation.DocumentHolderUnderage"
    default_message = "The document holder is younger than the rule's minimum age, or the age is unknown."


class DocumentStateNotAllowed(FailedOperation):
    code = "FailedOperation.DocumentStateNotAllowed"
    default_message = "Documents issued by this state are not accepted."


class SweepInProgress(FailedOperation):
    """Another retention sweep holds the lock (in this process or, on PostgreSQL, in any)."""

    code = "FailedOperation.SweepInProgress"
    default_message = "A retention sweep is already running; this one was skipped."


class ConcurrentUpdate(FailedOperation):
    """Another request changed the resource at the same moment; read it again and retry."""

    status_code = 409
    code = "FailedOperation.ConcurrentUpdate"
    default_message = "The resource was changed by a concurrent request; read it again and retry."


class RequestLimitExceeded(OpenKYCError):
    status_code = 429
    code = "RequestLimitExceeded"
    default_message = "Too many requests."


class ResourceUnavailable(OpenKYCError):
    status_code = 503
    code = "ResourceUnavailable"
    default_message = "The service is temporarily unavailable."


class ServerBusy(ResourceUnavailable):
    """Every model instance is busy and the queue in front of them is full (or the wait timed out)."""

    code = "ResourceUnavailable.ServerBusy"
    default_message = "The server is busy; retry after the time given in Retry-After."


# --- operators: management API and console (issue 15) ----------------------------------------


class AppDisabled(AuthFailure):
    code = "AuthFailure.AppDisabled"
    default_message = "The app of this credential is disabled."


class InvalidCursor(InvalidParameterValue):
    code = "InvalidParameterValue.Cursor"
    default_message = "The cursor is not one this list returned."


class RoleNotAllowed(UnauthorizedOperation):
    code = "UnauthorizedOperation.RoleNotAllowed"
    default_message = "Your role does not allow this action."


class LoginFailed(AuthFailure):
    code = "AuthFailure.LoginFailed"
    default_message = "The user name or the password is wrong."


class AccountLocked(AuthFailure):
    status_code = 423
    code = "AuthFailure.AccountLocked"
    default_message = "Too many failed sign-ins: the user is locked for a while."


class CsrfFailed(UnauthorizedOperation):
    code = "UnauthorizedOperation.CsrfTokenInvalid"
    default_message = "The form is stale or was not sent by the console; reload the page."
