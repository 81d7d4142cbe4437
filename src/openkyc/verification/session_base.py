"""What every part of a hosted verification session (:mod:`openkyc.verification.sessions`) shares:
the check modes and what each records and tells the end user, the session's errors, the small
helpers on tokens and URLs, and :class:`SessionBase`, which finds a session's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy.orm import Session

from openkyc.config.rules import RuleConfig
from openkyc.errors import (
    ConsentRequired,
    InvalidParameterValue,
    MissingParameter,
    OpenKYCError,
    ResourceNotFound,
    UnauthorizedOperation,
)
from openkyc.jobs import Jobs
from openkyc.pool import ModelPool
from openkyc.privacy.access import DataAccess
from openkyc.privacy.vocabulary import DataCategory, DataElement, RetentionKind
from openkyc.store.models.verification import VerificationSession
from openkyc.store.subject_keys import subject_keys_for
from openkyc.verification.service import (
    DOCUMENT_ELEMENTS,
    IDENTITY_ELEMENTS,
    LIVENESS_ELEMENTS,
    SELFIE_ELEMENTS,
    VerificationModels,
    VerificationService,
)

MEDIA_HOURS = 2.0
SESSION_RETENTION = RetentionKind.VERIFICATION_SESSION
E = DataElement
# the session row: its state and the customer's sealed pass-through data (extra)
SESSION_ELEMENTS: tuple[DataElement, ...] = (E.OPERATION_STATUS, E.SUBJECT_ID)
# creating one with a reference photo also checks the photo for a face and stores it
REFERENCE_ELEMENTS: tuple[DataElement, ...] = (E.FACE_IMAGE, E.KEYPOINTS)


CheckMode = Literal["document+liveness+compare", "liveness+compare", "liveness", "document"]
CHECK_MODES: tuple[str, ...] = get_args(CheckMode)
# what each check mode records, reads and keeps (the notice is generated from these and the policy)
MODE_ELEMENTS: dict[str, tuple[DataCategory | DataElement, ...]] = {
    "document+liveness+compare": IDENTITY_ELEMENTS,
    "liveness+compare": SELFIE_ELEMENTS,
    "liveness": LIVENESS_ELEMENTS,
    "document": DOCUMENT_ELEMENTS,
}
# the notice's items: what is collected, the retention kind that bounds how long it is kept
NOTICE_ITEMS: dict[str, tuple[tuple[str, RetentionKind], ...]] = {
    "document+liveness+compare": (
        ("document_image", RetentionKind.DOCUMENT_IMAGE),
        ("face_video", RetentionKind.FACE_VIDEO),
        ("result_document", RetentionKind.VERIFICATION_RESULT),
    ),
    "liveness+compare": (
        ("face_video", RetentionKind.FACE_VIDEO),
        ("reference", RetentionKind.FACE_IMAGE),
        ("result", RetentionKind.VERIFICATION_RESULT),
    ),
    "liveness": (("face_video", RetentionKind.FACE_VIDEO), ("result", RetentionKind.VERIFICATION_RESULT)),
    "document": (
        ("document_image", RetentionKind.DOCUMENT_IMAGE),
        ("result_document", RetentionKind.VERIFICATION_RESULT),
    ),
}
NOTICE_VERSION = "2"  # the notice's wording; bump when locales' notice_* messages change meaning
MEDIA_KINDS = {RetentionKind.DOCUMENT_IMAGE, RetentionKind.FACE_VIDEO, RetentionKind.FACE_IMAGE}
DECLINED = "declined"  # the session's state once the end user declines the notice
# liveness_mode of a session whose creator asked for silent liveness without a timed challenge
# (Tencent's SDK token actions at SecureLevel 1); "silent" is the end user's choice, still challenged
PLAIN_SILENT = "silent-plain"


class SessionFinished(UnauthorizedOperation):
    code = "UnauthorizedOperation.SessionFinished"
    default_message = "This verification session is finished or has expired."


class NoticeNotAccepted(ConsentRequired):
    code = "UnauthorizedOperation.NoticeNotAccepted"
    default_message = "The end user has not agreed to the notice of this verification session."


class AttemptInProgress(OpenKYCError):
    status_code = 409
    code = "ResourceInUse.Attempt"
    default_message = "This attempt is still being checked; retry later."


def check_mode_of(row: VerificationSession) -> str:
    """The session's check mode (rows older than migration 0015 have none: derived)."""
    if row.check_mode:
        return row.check_mode
    return "liveness+compare" if row.compare_blob_id is not None else "liveness"


def chosen_check_mode(check_mode: str | None, has_image: bool) -> str:
    mode = check_mode or ("liveness+compare" if has_image else "liveness")
    if mode not in CHECK_MODES:
        raise InvalidParameterValue(
            f"check_mode must be one of {', '.join(CHECK_MODES)}.", code="InvalidParameterValue.CheckMode"
        )
    if mode == "liveness+compare" and not has_image:
        raise MissingParameter("check_mode liveness+compare needs compare_image.")
    if mode != "liveness+compare" and has_image:
        raise InvalidParameterValue(
            "compare_image is used only with check_mode liveness+compare.", code="InvalidParameterValue.CheckMode"
        )
    return mode


def session_aad(token: str, app_id: int) -> bytes:
    return f"session:{token}:{app_id}".encode()


def token_ref_of(session: Session, token: str) -> str:
    return subject_keys_for(session).token_ref(token)


def back_url(redirect_url: str, token: str) -> str:
    """Where the end user goes once the session ends: the redirect URL, or (a session created with
    none, for an app's WebView) the session's own page, which then says the session has finished."""
    return _with_token(redirect_url or f"/verify/{token}", token)


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + urlencode({"biz_token": token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@dataclass
class SessionBase:
    """The pieces a session's steps use: the data access, the model pool and the job queue."""

    data: DataAccess
    models: ModelPool[VerificationModels]
    jobs: Jobs
    public_base_url: str | None = None

    def _verifications(self, app_id: int, client_ip: str | None = None) -> VerificationService:
        return VerificationService(self.data, self.models, self.jobs, app_id, client_ip)

    @staticmethod
    def _row(session: Session, token: str) -> VerificationSession:
        row = session.get(VerificationSession, token_ref_of(session, token))
        if row is None:
            raise ResourceNotFound("The verification session does not exist.", code="ResourceNotFound.Session")
        return row

    def _open(self, session: Session, token: str) -> VerificationSession:
        row = self._row(session, token)
        if row.state != "created" or row.expires_at <= self.data.clock():
            raise SessionFinished()
        return row


def uses_challenge(rule: RuleConfig, check_mode: str, liveness_mode: str | None = None) -> bool:
    """Whether the session's liveness step is a timed challenge: by default (``hosted.challenge``),
    and always for a rule in challenge mode, unless its creator asked for plain silent liveness."""
    if "liveness" not in check_mode or liveness_mode == PLAIN_SILENT:
        return False
    return rule.hosted.challenge or rule.liveness.mode == "challenge"


def liveness_mode_of(row: VerificationSession, rule: RuleConfig) -> str:
    """The session's liveness mode: its own (the end user's or creator's choice) or the rule's."""
    if row.liveness_mode == PLAIN_SILENT:
        return "silent"
    return row.liveness_mode or rule.liveness.mode


def recording_seconds(liveness_mode: str, challenge: bool) -> int:
    """About how long the recording lasts, for the page's instructions."""
    if challenge:
        return 11 if liveness_mode == "reflection" else 8  # the longest schedules drawn by default
    return 4 if liveness_mode == "silent" else 6


def steps_of(mode: str) -> list[str]:
    """The steps the end user goes through, in order (the page's progress list)."""
    steps = ["notice"]
    if "document" in mode:
        steps.append("document")
    if "liveness" in mode:
        steps.append("selfie")
    return [*steps, "done"]


def consent_subject(token_ref: str) -> str:
    """The subject a hosted consent is recorded under: the session (by its token's keyed hash),
    the only identity the end user has here."""
    return f"session:{token_ref}"[:128]


def validate_redirect(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidParameterValue(
            "redirect_url must be an absolute http(s) URL.", code="InvalidParameterValue.RedirectUrl"
        )
    return url
