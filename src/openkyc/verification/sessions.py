"""Hosted verification sessions (BizToken): created by the customer, completed by the end user.

The customer creates a session with a rule, a redirect URL, a ``check_mode`` (the steps:
``document+liveness+compare``, ``liveness+compare`` against ``compare_image``, ``liveness`` or
``document``) and optionally a language; the end user opens ``/verify/{biz_token}`` (the token is
the only credential), reads the notice generated from the policy and agrees (recorded as a consent
with the notice and policy version) or declines (the session ends as ``declined``), captures the
document and records a short selfie video as the mode asks, and is sent back to the redirect URL.
The customer then reads the result with a signed ``GET /v1/sessions/{biz_token}/result``. The
steps run through :class:`~openkyc.verification.service.VerificationService` exactly as the
signed verification routes do.

Attempts: each submit claims one attempt by a conditional update before any model runs, and gives
it back when the attempt ends without a result (bad input or a server error), so an attempt is
never half counted. A submit carries the page's ``attempt_id``: a retried upload of the same
attempt (a lost answer on a slow connection) gets the stored answer again instead of a second try.

The database holds the token only as a keyed hash; the extra data is sealed under a key of the
session's own, destroyed by the key store once the policy's session period has passed.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, get_args
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import update
from sqlalchemy.orm import Session

from openkyc.config.rules import RuleConfig, SessionDocumentOptions
from openkyc.config.service import admitted_rule, check_client, rule_config
from openkyc.documents.service import DocumentService
from openkyc.documents.sides import needs_back
from openkyc.errors import (
    ConsentRequired,
    InvalidParameterValue,
    MissingParameter,
    OpenKYCError,
    ResourceNotFound,
    UnauthorizedOperation,
)
from openkyc.jobs import Jobs
from openkyc.jobs.webhooks import SESSION_EVENT, session_payload
from openkyc.liveness.challenge import ChallengeConfig
from openkyc.liveness.service import ChallengeService
from openkyc.pool import ModelPool
from openkyc.privacy import audit, ledger
from openkyc.privacy.access import DataAccess
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.crypto import sealed_key_id
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose, RetentionKind
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


def _check_mode(check_mode: str | None, has_image: bool) -> str:
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


def _check_document_options(options: SessionDocumentOptions | None, mode: str, rule: RuleConfig) -> None:
    """A session's document options need a document step and a document type the rule takes."""
    if options is None:
        return
    if "document" not in mode:
        raise InvalidParameterValue(
            "Document options need a check mode with a document step.", code="InvalidParameterValue.CheckMode"
        )
    if options.document_types is not None and not set(options.document_types) & set(rule.document_types):
        raise InvalidParameterValue("The rule does not accept the session's document type.")


def _aad(token: str, app_id: int) -> bytes:
    return f"session:{token}:{app_id}".encode()


def _ref(session: Session, token: str) -> str:
    return subject_keys_for(session).token_ref(token)


def _back_url(redirect_url: str, token: str) -> str:
    """Where the end user goes once the session ends: the redirect URL, or (a session created with
    none, for an app's WebView) the session's own page, which then says the session has finished."""
    return _with_token(redirect_url or f"/verify/{token}", token)


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + urlencode({"biz_token": token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@dataclass
class SessionService:
    data: DataAccess
    models: ModelPool[VerificationModels]
    jobs: Jobs
    public_base_url: str | None = None

    def _verifications(self, app_id: int, client_ip: str | None = None) -> VerificationService:
        return VerificationService(self.data, self.models, self.jobs, app_id, client_ip)

    def create(
        self,
        app_id: int,
        *,
        rule_id: str | None,
        redirect_url: str | None,
        compare_image: bytes | None,
        extra: str | None,
        base_url: str,
        client_ip: str | None = None,
        check_mode: str | None = None,
        language: str | None = None,
        plain_silent: bool = False,
        document_options: SessionDocumentOptions | None = None,
    ) -> dict[str, Any]:
        """A session; ``redirect_url`` None: the end user ends on the session's own page;
        ``plain_silent``: silent liveness without a timed challenge, whatever the rule says;
        ``document_options``: the document step's own types and expiry choice over the rule's."""
        mode = _check_mode(check_mode, compare_image is not None)
        elements = SESSION_ELEMENTS + (REFERENCE_ELEMENTS if compare_image is not None else ())
        self.data.gate.check(Purpose.PROVIDE_FEATURES, elements, app_id=app_id)  # before any model or write
        with self.data.transaction() as session:
            rule = admitted_rule(session, app_id, rule_id, client_ip)
        _check_document_options(document_options, mode, rule)
        if compare_image is not None:
            with self.models.lease() as models:
                engine = models.face_engine()
                engine.select_face(engine.decode(compare_image), enforce_quality=False)  # refuse a useless photo now
        now = self.data.clock()
        token = secrets.token_urlsafe(24)
        actions = list(rule.liveness.actions)
        if rule.liveness.randomize_order:
            random.SystemRandom().shuffle(actions)
        ttl = timedelta(minutes=rule.security.session_ttl_minutes)
        with self.data.transaction() as session:
            blob_id = None
            if compare_image is not None:
                blob_id = self.data.blobs.put(
                    session,
                    app_id=app_id,
                    kind="face_image",
                    data=compare_image,
                    now=now,
                    expires_at=now + timedelta(hours=min(MEDIA_HOURS, rule.retention.media_hours)),
                    purpose=Purpose.PROVIDE_FEATURES,
                )
            extra_enc = None
            if extra:  # sealed under a key of the session's own, destroyed after the policy's period
                kept = timedelta(hours=self.data.gate.policy.max_retention_hours(SESSION_RETENTION))
                extra_key = subject_keys_for(session).for_record(app_id, now + max(kept, ttl))
                extra_enc = extra_key.encrypt(extra.encode(), _aad(token, app_id))
            ledger.touched("sessions.create", SESSION_ELEMENTS, ledger.WRITE)
            row = VerificationSession(
                biz_token=_ref(session, token),
                app_id=app_id,
                rule_id=rule_id,
                redirect_url=redirect_url or "",
                compare_blob_id=blob_id,
                extra_enc=extra_enc,
                actions=actions,
                state="created",
                attempts=0,
                result_id=None,
                created_at=now,
                expires_at=now + ttl,
                check_mode=mode,
                language=language,
                liveness_mode=PLAIN_SILENT if plain_silent else None,
                document_options=document_options.model_dump(exclude_none=True) if document_options else None,
            )
            session.add(row)
        base = (self.public_base_url or base_url).rstrip("/")
        return {
            "biz_token": token,
            "verification_url": f"{base}/verify/{token}",
            "expires_at": row.expires_at.isoformat(),
            "check_mode": mode,
        }

    @staticmethod
    def _row(session: Session, token: str) -> VerificationSession:
        row = session.get(VerificationSession, _ref(session, token))
        if row is None:
            raise ResourceNotFound("The verification session does not exist.", code="ResourceNotFound.Session")
        return row

    def _notice(self, rule: RuleConfig, mode: str) -> list[dict[str, Any]]:
        """What the mode collects and how long each is kept at most: the policy's period, shortened
        by the rule's retention."""
        policy = self.data.gate.policy
        items = []
        for item, kind in NOTICE_ITEMS[mode]:
            hours = policy.max_retention_hours(kind)
            hours = min(hours, rule.retention.media_hours if kind in MEDIA_KINDS else rule.retention.result_hours)
            items.append({"item": item, "hours": hours})
        return items

    def page_context(self, token: str) -> dict[str, Any]:
        """What the hosted page shows; no personal data. A page of an unknown token raises
        ResourceNotFound; a finished, declined or expired one says ``open: False``."""
        with self.data.transaction() as session:
            row = self._row(session, token)
            rule = rule_config(session, row.app_id, row.rule_id)
        open_ = row.state == "created" and row.expires_at > self.data.clock()
        mode = check_mode_of(row)
        liveness_mode = _liveness_mode(row, rule)
        hosted = rule.hosted
        challenge = _uses_challenge(rule, mode, row.liveness_mode)
        return {
            "biz_token": token,
            "open": open_,
            "state": "expired" if row.state == "created" and not open_ else row.state,
            "check_mode": mode,
            "steps": _steps(mode),
            "mode": liveness_mode,
            "rule_mode": rule.liveness.mode,
            "silent_allowed": rule.liveness.mode == "reflection" and hosted.silent_instead_of_reflection,
            "actions": row.actions if liveness_mode == "action" else [],
            "session_language": row.language,
            "rule_language": rule.language,
            "challenge": challenge,
            "seconds": _seconds(liveness_mode, challenge),
            "attempts_left": max(0, rule.security.max_retries + 1 - row.attempts),
            "consented": row.consent_id is not None,
            "notice": self._notice(rule, mode),
            "operator_name": hosted.operator_name,
            "logo_url": str(hosted.logo_url) if hosted.logo_url else None,
            "theme_color": hosted.theme_color,
            "privacy_notice_url": str(hosted.privacy_notice_url) if hosted.privacy_notice_url else None,
        }

    def answer_notice(
        self, token: str, *, agree: bool, use_silent: bool = False, client_ip: str | None = None
    ) -> dict[str, Any]:
        """The end user's answer to the notice. Agreeing records a consent (purpose: provide
        features; text version: the notice and the policy version) and audits it; declining ends
        the session as ``declined`` and sends the end user back. ``use_silent``: silent liveness
        instead of reflection (flashing colours), where the rule allows it."""
        now = self.data.clock()
        with self.data.transaction() as session:
            row = self._open(session, token)
            self.data.gate.check(Purpose.PROVIDE_FEATURES, SESSION_ELEMENTS, app_id=row.app_id)  # before any write
            rule = admitted_rule(session, row.app_id, row.rule_id, client_ip)
            ref = _ref(session, token)
            if not agree:
                declined = session.execute(
                    update(VerificationSession)
                    .where(VerificationSession.biz_token == ref, VerificationSession.state == "created")
                    .values(state=DECLINED)
                )
                if declined.rowcount != 1:  # type: ignore[attr-defined]
                    raise SessionFinished()
                audit.append(
                    session,
                    audit.AuditEvent.CONSENT,
                    actor="end-user",
                    app_id=row.app_id,
                    now=now,
                    details={
                        "action": "decline",
                        "purpose": Purpose.PROVIDE_FEATURES.value,
                        "check_mode": row.check_mode,
                    },
                )
                # a declined session has finished too: the rule's webhook hears it (outbox row)
                self.jobs.notify(
                    session,
                    app_id=row.app_id,
                    url=str(rule.webhook_url) if rule.webhook_url else None,
                    event=SESSION_EVENT,
                    payload=session_payload(
                        biz_token=token,
                        state=DECLINED,
                        verification_id=None,
                        result=None,
                        attempts=row.attempts,
                        finished_at=now,
                    ),
                    now=now,
                )
                return {"state": DECLINED, "redirect_url": _back_url(row.redirect_url, token)}
            if use_silent and not (rule.liveness.mode == "reflection" and rule.hosted.silent_instead_of_reflection):
                raise InvalidParameterValue(
                    "The rule does not offer silent liveness instead of reflection.",
                    code="InvalidParameterValue.LivenessMode",
                )
            version = f"hosted-notice-{NOTICE_VERSION}/policy-{self.data.gate.policy.version}"
            record = ConsentRepository(session, self.data.gate, clock=self.data.clock).record(
                row.app_id, _consent_subject(ref), Purpose.PROVIDE_FEATURES, version, purpose=Purpose.PROVIDE_FEATURES
            )
            session.execute(
                update(VerificationSession)
                .where(VerificationSession.biz_token == ref, VerificationSession.state == "created")
                .values(consent_id=record.id, liveness_mode="silent" if use_silent else row.liveness_mode)
            )
            audit.append(
                session,
                audit.AuditEvent.CONSENT,
                actor="end-user",
                app_id=row.app_id,
                now=now,
                details={"action": "grant", "purpose": Purpose.PROVIDE_FEATURES.value, "consent_id": record.id},
            )
        return {"state": "created", "consent_id": record.id, "text_version": version}

    def sequence(self, token: str, client_ip: str | None = None) -> dict[str, Any]:
        with self.data.transaction() as session:
            row = self._open(session, token)
            check_client(rule_config(session, row.app_id, row.rule_id), client_ip)
        return self._verifications(row.app_id, client_ip).issue_sequence()

    def challenge(self, token: str, client_ip: str | None = None) -> dict[str, Any]:
        """A timed challenge for this session's next recording, bound to the session: random action
        prompts (the rule's actions in action mode), and colours in reflection mode unless the end
        user chose to be checked without flashing colours."""
        with self.data.transaction() as session:
            row = self._open(session, token)
            rule = admitted_rule(session, row.app_id, row.rule_id, client_ip)
            ref = _ref(session, token)
        if not _uses_challenge(rule, check_mode_of(row), row.liveness_mode):
            raise InvalidParameterValue(
                "This session does not use timed challenges.", code="InvalidParameterValue.LivenessMode"
            )
        liveness_mode = _liveness_mode(row, rule)
        config = ChallengeConfig()
        if rule.liveness.mode == "action":
            config = ChallengeConfig(actions=tuple(rule.liveness.actions), count=len(rule.liveness.actions))
        issued = ChallengeService(self.data, config=config).issue(
            row.app_id, session_ref=ref, reflection=liveness_mode == "reflection"
        )
        return issued.to_dict()

    def check_document(self, token: str, image: bytes, client_ip: str | None = None) -> dict[str, Any]:
        """The page's look at one side of the document before going on: whether a document was
        found (``code``) and whether its other side is needed (``needs_back``). Nothing is stored
        and no attempt is used; the submit reads the sides again and decides."""
        with self.data.transaction() as session:
            row = self._open(session, token)
            admitted_rule(session, row.app_id, row.rule_id, client_ip)
            if row.consent_id is None:
                raise NoticeNotAccepted()
        if "document" not in check_mode_of(row):
            raise InvalidParameterValue(
                "This session's check mode has no document step.", code="InvalidParameterValue.CheckMode"
            )
        documents = DocumentService(self.data, self.models, row.app_id, client_ip)
        read = documents.read(image)
        return {"code": read.code, "needs_back": needs_back(read)}

    def _open(self, session: Session, token: str) -> VerificationSession:
        row = self._row(session, token)
        if row.state != "created" or row.expires_at <= self.data.clock():
            raise SessionFinished()
        return row

    def _claim_attempt(
        self, token: str, attempt_id: str | None, client_ip: str | None
    ) -> tuple[VerificationSession, RuleConfig, int, bytes | None, dict[str, Any] | None]:
        """One attempt, taken by a conditional update and committed before any model runs: of
        concurrent submits, only as many as the rule allows go on; the others get SessionFinished.
        An end user whose address the rule's ``ip_allow_list`` refuses uses up no attempt. A
        repeated ``attempt_id`` claims nothing: its stored answer comes back (the last element)."""
        with self.data.transaction() as session:
            row = self._row(session, token)
            if attempt_id is not None and row.last_attempt_id == attempt_id:
                if row.last_reply is None:
                    raise AttemptInProgress(retry_after=2)
                return row, rule_config(session, row.app_id, row.rule_id), row.attempts, None, dict(row.last_reply)
            row = self._open(session, token)
            mode = check_mode_of(row)
            # the whole attempt (its steps and the stored result), decided before the attempt is
            # claimed or any model runs
            self.data.gate.check(Purpose.PROVIDE_FEATURES, (*SESSION_ELEMENTS, *MODE_ELEMENTS[mode]), app_id=row.app_id)
            rule = admitted_rule(session, row.app_id, row.rule_id, client_ip)
            if row.consent_id is None:
                raise NoticeNotAccepted()
            allowed = rule.security.max_retries + 1
            claimed = session.execute(
                update(VerificationSession)
                .where(
                    VerificationSession.biz_token == _ref(session, token),
                    VerificationSession.state == "created",
                    VerificationSession.attempts < allowed,
                )
                .values(attempts=VerificationSession.attempts + 1, last_attempt_id=attempt_id, last_reply=None)
                .returning(VerificationSession.attempts)
            ).scalar_one_or_none()
            if claimed is None:
                raise SessionFinished()
            reference = None
            if row.compare_blob_id is not None:
                reference = self.data.blobs.get(
                    session, row.app_id, row.compare_blob_id, now=self.data.clock(), purpose=Purpose.PROVIDE_FEATURES
                )
        return row, rule, int(claimed), reference, None

    def _release_attempt(self, token: str) -> None:
        """Gives back an attempt that ended without a result (unusable input, a server error)."""
        with self.data.transaction() as session:
            session.execute(
                update(VerificationSession)
                .where(
                    VerificationSession.biz_token == _ref(session, token),
                    VerificationSession.state == "created",
                    VerificationSession.attempts > 0,
                )
                .values(attempts=VerificationSession.attempts - 1, last_attempt_id=None, last_reply=None)
            )

    def _run(
        self,
        row: VerificationSession,
        service: VerificationService,
        reference: bytes | None,
        video: bytes | None,
        document_image: bytes | None,
        sequence_id: str | None,
        challenge_id: str | None,
        token_ref: str,
        document_back_image: bytes | None = None,
    ) -> dict[str, Any]:
        """The session's steps through the verification service, as the signed routes run them."""
        mode = check_mode_of(row)
        silent = row.liveness_mode in {"silent", PLAIN_SILENT}
        liveness_mode = "silent" if silent else None  # None: the rule's mode
        actions = (row.actions or None) if liveness_mode is None else None
        common: dict[str, Any] = {"rule_id": row.rule_id, "subject_id": None}
        live: dict[str, Any] = {**common, "mode": liveness_mode, "actions": actions, "sequence_id": sequence_id}
        if challenge_id is not None:  # the schedule decides the prompts (and colours)
            live = {
                **common,
                "mode": None,
                "actions": None,
                "sequence_id": None,
                "challenge_id": challenge_id,
                "challenge_session": token_ref,
            }
        options = SessionDocumentOptions.model_validate(row.document_options) if row.document_options else None
        if mode == "document":
            assert document_image is not None
            return service.document(
                document_image, document_back_image=document_back_image, document_options=options, **common
            )
        assert video is not None
        if mode == "document+liveness+compare":
            assert document_image is not None
            return service.identity(
                document_image, video, document_back_image=document_back_image, document_options=options, **live
            )
        if mode == "liveness+compare":
            if reference is None:
                raise SessionFinished("The session's reference photo has expired.")
            return service.selfie(video, reference, **live)
        out = service.liveness(video, **live)
        out.pop("best_frame", None)
        return out

    def submit(
        self,
        token: str,
        video: bytes | None,
        sequence_id: str | None,
        client_ip: str | None = None,
        *,
        document_image: bytes | None = None,
        attempt_id: str | None = None,
        challenge_id: str | None = None,
        document_back_image: bytes | None = None,
    ) -> dict[str, Any]:
        with self.data.transaction() as session:
            current = self._row(session, token)
            if attempt_id is None or current.last_attempt_id != attempt_id:  # a repeat gets its stored answer
                # before the inputs are looked at: a finished session, a refused address, no agreement
                self._open(session, token)
                admitted_rule(session, current.app_id, current.rule_id, client_ip)
                if current.consent_id is None:
                    raise NoticeNotAccepted()
            mode = check_mode_of(current)
            token_ref = current.biz_token
            rule = rule_config(session, current.app_id, current.rule_id)
            needs_challenge = _uses_challenge(rule, mode, current.liveness_mode)
        if "document" in mode and document_image is None:
            raise MissingParameter("This session's check mode needs document_image.")
        if document_back_image is not None and "document" not in mode:
            raise InvalidParameterValue(
                "document_back_image is used only with a document check mode.", code="InvalidParameterValue.CheckMode"
            )
        if "liveness" in mode and video is None:
            raise MissingParameter("This session's check mode needs video.")
        if needs_challenge and challenge_id is None:
            raise MissingParameter("This session checks liveness with a timed challenge: challenge_id is needed.")
        if not needs_challenge and challenge_id is not None:
            raise InvalidParameterValue(
                "This session does not use timed challenges.", code="InvalidParameterValue.LivenessMode"
            )
        row, rule, attempt, reference, stored = self._claim_attempt(token, attempt_id, client_ip)
        if stored is not None:
            return {**stored, "app_id": row.app_id, "repeated": True}
        service = self._verifications(row.app_id, client_ip)
        try:
            out = self._run(
                row,
                service,
                reference,
                video,
                document_image,
                sequence_id,
                challenge_id,
                token_ref,
                document_back_image,
            )
        except Exception:
            self._release_attempt(token)  # it ended with no result stored: not a try
            raise
        passed = out["Result"] == "Success"
        retries_left = rule.security.max_retries + 1 - attempt
        finished = passed or retries_left <= 0
        reply = {
            "Result": out["Result"],
            "Description": out["Description"],
            "finished": finished,
            "attempts_left": max(0, retries_left) if not passed else 0,
            "redirect_url": _back_url(row.redirect_url, token) if finished else None,
        }
        with self.data.transaction() as session:
            # A session another attempt already finished keeps that attempt's result.
            changed = session.execute(
                update(VerificationSession)
                .where(VerificationSession.biz_token == _ref(session, token), VerificationSession.state == "created")
                .values(result_id=out["verification_id"], state="completed" if finished else "created")
            )
            if attempt_id is not None:
                session.execute(
                    update(VerificationSession)
                    .where(
                        VerificationSession.biz_token == _ref(session, token),
                        VerificationSession.last_attempt_id == attempt_id,
                    )
                    .values(last_reply=reply)
                )
            if finished and getattr(changed, "rowcount", 0):
                # the rule's webhook hears once that the session finished (outbox row, this transaction)
                now = self.data.clock()
                self.jobs.notify(
                    session,
                    app_id=row.app_id,
                    url=str(rule.webhook_url) if rule.webhook_url else None,
                    event=SESSION_EVENT,
                    payload=session_payload(
                        biz_token=token,
                        state="completed",
                        verification_id=out["verification_id"],
                        result=out["Result"],
                        attempts=attempt,
                        finished_at=now,
                    ),
                    now=now,
                )
        # app_id is for metering; the route does not send it to the end user
        return {**reply, "app_id": row.app_id, "repeated": False}

    def result(self, app_id: int, token: str) -> dict[str, Any]:
        self.data.gate.check(Purpose.PROVIDE_FEATURES, SESSION_ELEMENTS, app_id=app_id)
        ledger.touched("sessions.result", SESSION_ELEMENTS)
        with self.data.transaction() as session:
            row = self._row(session, token)
        if row.app_id != app_id:
            raise ResourceNotFound("The verification session does not exist.", code="ResourceNotFound.Session")
        now = self.data.clock()
        state = "expired" if row.state == "created" and row.expires_at <= now else row.state
        extra = None
        if row.extra_enc is not None and self.data.keyring.key_for(sealed_key_id(row.extra_enc)) is not None:
            extra = self.data.keyring.decrypt(row.extra_enc, _aad(token, app_id)).decode()  # else: shredded
        result = None
        if row.result_id is not None:
            try:
                result = self._verifications(app_id).result(row.result_id)
            except ResourceNotFound:
                result = None  # expired under the result retention
        return {
            "biz_token": token,
            "state": state,
            "check_mode": check_mode_of(row),
            "consented": row.consent_id is not None,
            "attempts": row.attempts,
            "result": result,
            "extra": extra,
            "created_at": row.created_at.isoformat(),
            "expires_at": row.expires_at.isoformat(),
        }


def _uses_challenge(rule: RuleConfig, check_mode: str, liveness_mode: str | None = None) -> bool:
    """Whether the session's liveness step is a timed challenge: by default (``hosted.challenge``),
    and always for a rule in challenge mode, unless its creator asked for plain silent liveness."""
    if "liveness" not in check_mode or liveness_mode == PLAIN_SILENT:
        return False
    return rule.hosted.challenge or rule.liveness.mode == "challenge"


def _liveness_mode(row: VerificationSession, rule: RuleConfig) -> str:
    """The session's liveness mode: its own (the end user's or creator's choice) or the rule's."""
    if row.liveness_mode == PLAIN_SILENT:
        return "silent"
    return row.liveness_mode or rule.liveness.mode


def _seconds(liveness_mode: str, challenge: bool) -> int:
    """About how long the recording lasts, for the page's instructions."""
    if challenge:
        return 11 if liveness_mode == "reflection" else 8  # the longest schedules drawn by default
    return 4 if liveness_mode == "silent" else 6


def _steps(mode: str) -> list[str]:
    """The steps the end user goes through, in order (the page's progress list)."""
    steps = ["notice"]
    if "document" in mode:
        steps.append("document")
    if "liveness" in mode:
        steps.append("selfie")
    return [*steps, "done"]


def _consent_subject(token_ref: str) -> str:
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
