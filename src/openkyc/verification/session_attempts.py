"""A hosted session's submit: one attempt claimed by a conditional update before any model runs
(given back when the attempt ends without a result), the session's steps run through the
verification service, the answer stored for a repeated ``attempt_id``, and the session finished
(with its webhook) once it passes or has no attempts left."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from openkyc.config.rules import RuleConfig, SessionDocumentOptions
from openkyc.config.service import admitted_rule, rule_config
from openkyc.errors import InvalidParameterValue, MissingParameter
from openkyc.jobs.webhooks import SESSION_EVENT, session_payload
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.verification import VerificationSession
from openkyc.verification.service import VerificationService
from openkyc.verification.session_base import (
    MODE_ELEMENTS,
    PLAIN_SILENT,
    SESSION_ELEMENTS,
    AttemptInProgress,
    NoticeNotAccepted,
    SessionBase,
    SessionFinished,
    back_url,
    check_mode_of,
    token_ref_of,
    uses_challenge,
)


class SessionAttempts(SessionBase):
    """The end user's submits: one attempt each, at most as many as the rule allows."""

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
                    VerificationSession.biz_token == token_ref_of(session, token),
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
                    VerificationSession.biz_token == token_ref_of(session, token),
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
            needs_challenge = uses_challenge(rule, mode, current.liveness_mode)
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
            "redirect_url": back_url(row.redirect_url, token) if finished else None,
        }
        with self.data.transaction() as session:
            # A session another attempt already finished keeps that attempt's result.
            changed = session.execute(
                update(VerificationSession)
                .where(
                    VerificationSession.biz_token == token_ref_of(session, token),
                    VerificationSession.state == "created",
                )
                .values(result_id=out["verification_id"], state="completed" if finished else "created")
            )
            if attempt_id is not None:
                session.execute(
                    update(VerificationSession)
                    .where(
                        VerificationSession.biz_token == token_ref_of(session, token),
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
