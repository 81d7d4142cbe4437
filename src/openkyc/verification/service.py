"""Liveness, reflection sequences and selfie verification: the flows an end user goes through.

Outcomes of a verification (not live, an action not seen, low similarity) are results with a
``Result`` code in a 200 response; input that cannot be used (not a video, too long, no face in
any frame, no face in the reference photo) is an error with a 4xx status.
"""

from __future__ import annotations

import base64
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.service import FaceModels
from openkyc.biometrics.templates import TemplateKey
from openkyc.biometrics.types import Embedding
from openkyc.config.rules import RuleConfig, SessionDocumentOptions
from openkyc.config.service import admitted_rule
from openkyc.documents.reader import DocumentResult
from openkyc.documents.service import NOT_FOUND, DocumentModels, DocumentService, judge
from openkyc.errors import FailedOperation, InvalidParameterValue, ResourceNotFound
from openkyc.jobs import Jobs
from openkyc.liveness.challenge import Schedule
from openkyc.liveness.checker import LivenessChecker, LivenessResult, Mode
from openkyc.liveness.reflection import ReflectSequence, new_sequence
from openkyc.liveness.service import ChallengeService
from openkyc.liveness.video import VideoLimits
from openkyc.pool import ModelPool
from openkyc.privacy.access import DataAccess
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose
from openkyc.store.models.verification import ReflectSequenceRow
from openkyc.verification.repository import ResultRepository

SUCCESS = "Success"
LOW_SIMILARITY = "FailedOperation.CompareLowSimilarity"
NO_FACE_IN_VIDEO = "FailedOperation.LivessNoFace"
NO_PORTRAIT = "FailedOperation.DocumentNoPortrait"
SEQUENCE_TTL = timedelta(minutes=10)

# What each flow touches, decided by the gate before anything is written or any model runs: the
# stored result (status, and the identification it may hold), then the media and features.
E = DataElement
RESULT_ELEMENTS: tuple[DataCategory | DataElement, ...] = (E.OPERATION_STATUS, DataCategory.IDENTIFICATION)
LIVENESS_ELEMENTS = (*RESULT_ELEMENTS, E.FACE_VIDEO, E.KEYPOINTS)
SELFIE_ELEMENTS = (*LIVENESS_ELEMENTS, E.FACE_IMAGE, E.TEMPLATE)
IDENTITY_ELEMENTS = (*SELFIE_ELEMENTS, E.DOCUMENT_IMAGE)
DOCUMENT_ELEMENTS = (*RESULT_ELEMENTS, E.DOCUMENT_IMAGE)

DESCRIPTIONS = {
    "Success": "Verification passed.",
    "FailedOperation.CompareLowSimilarity": "The face in the video does not match the reference photo.",
    "FailedOperation.LivessDetectFail": "The liveness check failed: the video does not look like a live person.",
    "FailedOperation.SilentTooShort": "The video is too short for silent liveness.",
    "FailedOperation.ActionCloseEye": "The blink was not seen.",
    "FailedOperation.ActionOpenMouth": "The open mouth was not seen.",
    "FailedOperation.ActionNodHead": "The nod was not seen.",
    "FailedOperation.ActionShakeHead": "The head shake was not seen.",
    "FailedOperation.LivessMultiFaces": "More than one face is in the video.",
    "FailedOperation.LivessFaceLost": "The face left the frame for too long.",
    "FailedOperation.LivessFaceChanged": "The face changed during the video.",
    "FailedOperation.LivessReflectFail": "The screen colours were not reflected on the face.",
    "FailedOperation.ActionTooEarly": "An action started before it was asked for.",
    "FailedOperation.ChallengeTooShort": "The video ends before the challenge did.",
    "FailedOperation.MrzCheckFailed": "The document's machine-readable zone failed its check digits.",
    "FailedOperation.DocumentUnrecognized": "The document type was not recognised.",
    "FailedOperation.DocumentTypeNotAllowed": "This type of document is not accepted.",
    "FailedOperation.DocumentWarnings": "The document photo is not good enough (see the warnings).",
    "FailedOperation.DocumentNoPortrait": "No portrait was found on the document.",
    "FailedOperation.MrzNotVerified": "The document's reading could not be confirmed (see the document step).",
    "FailedOperation.DocumentExpired": "The document has expired.",
    "FailedOperation.DocumentHolderUnderage": "The document holder is under the rule's minimum age.",
    "FailedOperation.DocumentStateNotAllowed": "Documents from this issuing state are not accepted.",
}


def describe(code: str) -> str:
    return DESCRIPTIONS.get(code, "Verification failed.")


class VerificationModels(FaceModels, DocumentModels, Protocol):
    """What verification flows need from one model instance of the pool."""

    @property
    def liveness(self) -> LivenessChecker: ...


@dataclass(frozen=True, slots=True)
class LivenessPlan:
    """What a liveness check runs with, decided (and its sequence claimed) before any model runs."""

    rule: RuleConfig
    mode: Mode
    actions: Sequence[str] | None
    sequence: ReflectSequence | None
    schedule: Schedule | None = None


@dataclass
class VerificationService:
    """Verification flows for one app: take a pooled model instance, read and claim in one short
    transaction, run every model on the instance with no transaction open, then store the result in a
    second transaction. A single-use sequence or challenge is claimed only once the instance is held,
    so a request refused for busy models (503 ``ServerBusy``, which clients retry) uses nothing up."""

    data: DataAccess
    models: ModelPool[VerificationModels]
    jobs: Jobs
    app_id: int
    client_ip: str | None = None  # the caller's address, checked against a named rule's ip_allow_list

    def _decide(self, elements: Sequence[DataCategory | DataElement], subject_id: str | None) -> None:
        """The flow's gate decision, before its first write or model call."""
        self.data.gate.check(Purpose.PROVIDE_FEATURES, elements, subject=subject_id, app_id=self.app_id)

    def _results(self, session: Session) -> ResultRepository:
        return ResultRepository(session, self.data.gate, self.data.keyring)

    @staticmethod
    def _limits(rule: RuleConfig) -> VideoLimits:
        return VideoLimits(
            max_bytes=rule.video.max_bytes,
            max_duration_s=rule.video.max_seconds,
            min_silent_duration_s=rule.video.min_seconds_silent,
        )

    # --- reflection sequences ------------------------------------------------------------------

    def issue_sequence(self) -> dict[str, Any]:
        sequence = new_sequence()
        now = self.data.clock()
        row = ReflectSequenceRow(
            id=sequence.sequence_id,
            app_id=self.app_id,
            sequence=sequence.to_dict(),
            created_at=now,
            expires_at=now + SEQUENCE_TTL,
            used_at=None,
        )
        with self.data.transaction() as session:
            session.add(row)
        return {**sequence.to_dict(), "expires_at": row.expires_at.isoformat()}

    def _claim_sequence(self, session: Session, sequence_id: str) -> ReflectSequence:
        """The sequence, marked used by one conditional update: a second video for it is refused."""
        now = self.data.clock()
        row = session.get(ReflectSequenceRow, sequence_id)
        if row is None or row.app_id != self.app_id or row.expires_at <= now:
            raise ResourceNotFound(
                "The reflect sequence does not exist or has expired.", code="ResourceNotFound.ReflectSequence"
            )
        claimed = session.execute(
            update(ReflectSequenceRow)
            .where(ReflectSequenceRow.id == sequence_id, ReflectSequenceRow.used_at.is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidParameterValue(
                "The reflect sequence was already used.", code="InvalidParameterValue.ReflectSequenceUsed"
            )
        return ReflectSequence.from_dict(row.sequence)

    # --- liveness ------------------------------------------------------------------------------

    # --- timed challenges ------------------------------------------------------------------------

    def issue_challenge(self, *, reflection: bool = False) -> dict[str, Any]:
        return ChallengeService(self.data).issue(self.app_id, reflection=reflection).to_dict()

    def _plan(
        self,
        rule_id: str | None,
        mode: Mode | None,
        actions: Sequence[str] | None,
        sequence_id: str | None,
        challenge_id: str | None = None,
        challenge_session: str | None = None,
    ) -> LivenessPlan:
        """The rule, mode and actions; a reflection sequence or a challenge is claimed (and committed) here.

        A ``challenge_id`` selects challenge mode whatever the rule's mode; a rule in challenge mode
        refuses a call without one. ``challenge_session``: the hosted session (its token's keyed
        hash) the challenge was issued to; a challenge bound to a session is used only there."""
        self.data.gate.check(Purpose.PROVIDE_FEATURES, [DataElement.FACE_VIDEO, DataElement.KEYPOINTS])
        if challenge_id is not None and mode not in (None, "challenge"):
            raise InvalidParameterValue(
                "challenge_id goes with mode challenge (or no mode).", code="InvalidParameterValue.LivenessMode"
            )
        with self.data.transaction() as session:
            rule = admitted_rule(session, self.app_id, rule_id, self.client_ip)
            chosen: Mode = "challenge" if challenge_id is not None else (mode or rule.liveness.mode)
            wanted = actions if actions is not None else (list(rule.liveness.actions) or None)
            sequence = None
            schedule = None
            if chosen == "reflection":
                if not sequence_id:
                    raise InvalidParameterValue("Reflection mode needs reflect_sequence_id.", code="MissingParameter")
                sequence = self._claim_sequence(session, sequence_id)
            elif chosen == "challenge":
                if challenge_id is None:
                    raise InvalidParameterValue("Challenge mode needs challenge_id.", code="MissingParameter")
                schedule = ChallengeService(self.data).claim_in(
                    session, self.app_id, challenge_id, session_ref=challenge_session
                )
        return LivenessPlan(rule, chosen, wanted, sequence, schedule)

    def _check(self, models: VerificationModels, video: bytes, plan: LivenessPlan) -> LivenessResult:
        result = models.liveness.check(
            video,
            mode=plan.mode,
            actions=plan.actions,
            sequence=plan.sequence,
            limits=self._limits(plan.rule),
            schedule=plan.schedule,
        )
        if result.code == NO_FACE_IN_VIDEO:
            raise FailedOperation("No face was found in any frame of the video.", code=NO_FACE_IN_VIDEO)
        return result

    def liveness(
        self,
        video: bytes,
        *,
        rule_id: str | None,
        mode: Mode | None,
        actions: Sequence[str] | None,
        sequence_id: str | None,
        subject_id: str | None,
        challenge_id: str | None = None,
        challenge_session: str | None = None,
    ) -> dict[str, Any]:
        self._decide(LIVENESS_ELEMENTS, subject_id)
        with self.models.lease() as models:  # claimed once an instance is ours: a 503 uses nothing up
            plan = self._plan(rule_id, mode, actions, sequence_id, challenge_id, challenge_session)
            result = self._check(models, video, plan)
        verification_id = self._store(
            "liveness", plan.rule, subject_id, result.code, result.live, None, result.to_dict(), rule_id=rule_id
        )
        out = {
            **result.to_dict(),
            "Result": result.code,
            "Description": describe(result.code),
            "verification_id": verification_id,
        }
        out["best_frame"] = base64.b64encode(result.best_frame).decode() if result.best_frame else None
        return out

    # --- selfie verification -------------------------------------------------------------------

    def selfie(
        self,
        video: bytes,
        image: bytes,
        *,
        rule_id: str | None,
        mode: Mode | None,
        actions: Sequence[str] | None,
        sequence_id: str | None,
        subject_id: str | None,
        with_best_frame: bool = False,
        challenge_id: str | None = None,
        challenge_session: str | None = None,
    ) -> dict[str, Any]:
        """``with_best_frame``: the answer also carries the best frame (base64 JPEG), as Tencent's
        ``CompareFaceLiveness`` does; the native route leaves it out."""
        self._decide(SELFIE_ELEMENTS, subject_id)
        with self.models.lease() as models:  # claimed once an instance is ours: a 503 uses nothing up
            plan = self._plan(rule_id, mode, actions, sequence_id, challenge_id, challenge_session)
            rule = plan.rule
            engine = models.face_engine(rule.embedder)
            # embedded before liveness: a reference without a face is bad input (4xx)
            reference, _ = engine.embed(engine.decode(image), enforce_quality=False)
            result = self._check(models, video, plan)
            sim: float | None = None
            code = result.code
            if result.live and result.best_frame is not None:
                sim = round(_sim(engine, reference, result.best_frame), 2)
                code = SUCCESS if sim >= rule.compare_threshold else LOW_SIMILARITY
        details = {"liveness": result.to_dict(), "threshold": rule.compare_threshold}
        verification_id = self._store("selfie", rule, subject_id, code, result.live, sim, details, rule_id=rule_id)
        out = {
            "Result": code,
            "Description": describe(code),
            "sim": sim,
            "threshold": rule.compare_threshold,
            "live": result.live,
            "liveness": result.to_dict(),
            "verification_id": verification_id,
        }
        if with_best_frame:
            out["best_frame"] = base64.b64encode(result.best_frame).decode() if result.best_frame else None
        return out

    def identity(
        self,
        document_image: bytes,
        video: bytes,
        *,
        rule_id: str | None,
        mode: Mode | None,
        actions: Sequence[str] | None,
        sequence_id: str | None,
        subject_id: str | None,
        challenge_id: str | None = None,
        challenge_session: str | None = None,
        document_back_image: bytes | None = None,
        document_options: SessionDocumentOptions | None = None,
    ) -> dict[str, Any]:
        """Document OCR and portrait (of both sides when ``document_back_image`` is given), liveness
        of the selfie video, portrait against best frame; ``document_options``: a hosted session's
        own document types and expiry choice over the rule's."""
        self._decide(IDENTITY_ELEMENTS, subject_id)
        documents = DocumentService(self.data, self.models, self.app_id, self.client_ip)
        with self.data.transaction() as session:
            rule = admitted_rule(session, self.app_id, rule_id, self.client_ip)
        if document_options is not None:
            rule = document_options.apply(rule)
        with self.models.lease() as models:
            document = documents.read_sides(document_image, document_back_image, models)
            if document.code == NOT_FOUND:
                raise FailedOperation("No document was found in the photo.", code=NOT_FOUND)
            plan = self._plan(rule_id, mode, actions, sequence_id, challenge_id, challenge_session)
            result = self._check(models, video, plan)
            engine = models.face_engine(rule.embedder)
            sim: float | None = None
            compare_code: str | None = None
            if document.portrait is not None and result.live and result.best_frame is not None:
                portrait, _ = engine.embed(document.portrait.crop, enforce_quality=False)
                sim = round(_sim(engine, portrait, result.best_frame), 2)
                compare_code = SUCCESS if sim >= rule.compare_threshold else LOW_SIMILARITY
        document_step = _document_step(
            document, rule, self.data.clock().date(), need_portrait=True, sides=2 if document_back_image else 1
        )
        document_code = document_step["code"]
        steps = {
            "document": document_step,
            "liveness": {"code": result.code, **result.to_dict()},
            "compare": {"code": compare_code, "sim": sim, "threshold": rule.compare_threshold},
        }
        codes = [document_code, result.code, compare_code or SUCCESS]
        code = next((c for c in codes if c != SUCCESS), SUCCESS)
        verification_id = self._store(
            "identity",
            rule,
            subject_id,
            code,
            result.live,
            sim,
            steps,
            identification=dict(document.fields) or None,
            rule_id=rule_id,
        )
        return {
            "Result": code,
            "Description": describe(code),
            "sim": sim,
            "fields": dict(document.fields),
            "mrz": document.mrz.as_dict() if document.mrz else None,
            "steps": steps,
            "verification_id": verification_id,
        }

    def document(
        self,
        document_image: bytes,
        *,
        rule_id: str | None,
        subject_id: str | None,
        document_back_image: bytes | None = None,
        document_options: SessionDocumentOptions | None = None,
    ) -> dict[str, Any]:
        """The document step alone (the hosted ``document`` check mode): OCR (of both sides when
        ``document_back_image`` is given) judged by the rule (and the session's ``document_options``)
        and stored as a result, like the document step of :meth:`identity`."""
        self._decide(DOCUMENT_ELEMENTS, subject_id)
        documents = DocumentService(self.data, self.models, self.app_id, self.client_ip)
        with self.data.transaction() as session:
            rule = admitted_rule(session, self.app_id, rule_id, self.client_ip)
        if document_options is not None:
            rule = document_options.apply(rule)
        document = documents.read_sides(document_image, document_back_image)
        if document.code == NOT_FOUND:
            raise FailedOperation("No document was found in the photo.", code=NOT_FOUND)
        step = _document_step(
            document, rule, self.data.clock().date(), need_portrait=False, sides=2 if document_back_image else 1
        )
        code = step["code"]
        verification_id = self._store(
            "document",
            rule,
            subject_id,
            code,
            None,
            None,
            {"document": step},
            identification=dict(document.fields) or None,
            rule_id=rule_id,
        )
        return {
            "Result": code,
            "Description": describe(code),
            "fields": dict(document.fields),
            "mrz": document.mrz.as_dict() if document.mrz else None,
            "steps": {"document": step},
            "verification_id": verification_id,
        }

    def _store(
        self,
        kind: str,
        rule: RuleConfig,
        subject_id: str | None,
        code: str,
        live: bool | None,
        sim: float | None,
        details: dict[str, Any],
        identification: dict[str, Any] | None = None,
        *,
        rule_id: str | None,
    ) -> str:
        """Stores the result, kept for ``rule``'s ``result_hours``; ``rule_id`` (None: the defaults)
        is recorded so that the sweep applies that rule's period, and only it, to the row."""
        now = self.data.clock()
        with self.data.transaction() as session:
            verification_id = self._results(session).add(
                self.app_id,
                kind=kind,
                subject_id=subject_id,
                result_code=code,
                live=live,
                sim=sim,
                details=details,
                identification=identification,
                now=now,
                expires_at=now + timedelta(hours=rule.retention.result_hours),
                rule_id=rule_id,
                purpose=Purpose.PROVIDE_FEATURES,
            )
            # the rule's webhook hears of the result once it is committed (ids and Result code only)
            self.jobs.notify_result(
                session,
                app_id=self.app_id,
                url=str(rule.webhook_url) if rule.webhook_url else None,
                verification_id=verification_id,
                kind=kind,
                result=code,
                created_at=now,
            )
        return verification_id

    def result(self, verification_id: str) -> dict[str, Any]:
        with self.data.transaction() as session:
            return self._results(session).get(
                self.app_id, verification_id, now=self.data.clock(), purpose=Purpose.PROVIDE_FEATURES
            )


def _document_step(
    document: DocumentResult, rule: RuleConfig, today: date, *, need_portrait: bool, sides: int = 1
) -> dict[str, Any]:
    """The document step's code and evidence (no identification fields: they are sealed apart);
    ``today`` decides expiry and age; ``sides``: how many sides of the document were read."""
    code, details = judge(document, rule, today)
    if need_portrait and document.portrait is None and code == SUCCESS:
        code = NO_PORTRAIT
    return {
        "code": code,
        "document_type": document.document_type,
        "warnings": list(document.warnings),
        "mrz_valid": document.mrz.valid if document.mrz else None,
        "sides": sides,
        **details,
    }


def _sim(engine: FaceEngine, reference: Embedding, frame: bytes) -> float:
    """``sim`` of the reference and the best frame under a per-process random key (no template is
    stored). Quality is not enforced: liveness already judged the video, and the reference is the
    customer's photo."""
    protector = engine.protector(_ephemeral_key())
    second, _ = engine.embed(frame, enforce_quality=False)
    return engine.template_sim(protector.protect(reference), protector.protect(second))


@functools.cache
def _ephemeral_key() -> TemplateKey:
    """A per-process random key: 1:1 comparisons inside a verification store no template."""
    return TemplateKey("verify-" + secrets.token_hex(4), secrets.token_bytes(32))
