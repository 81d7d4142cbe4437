"""Hosted verification sessions (BizToken): created by the customer, completed by the end user.

The customer creates a session with a rule, a redirect URL and optionally a reference photo; the
end user opens ``/verify/{biz_token}`` (the token is the only credential), records a short selfie
video, and is sent back to the redirect URL. The customer then reads the result with a signed
``GET /v1/sessions/{biz_token}/result``.

The database holds the token only as a keyed hash; the extra data is sealed under a key of the
session's own, destroyed by the key store once the policy's session period has passed.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import update
from sqlalchemy.orm import Session

from openkyc.config.rules import RuleConfig
from openkyc.config.service import admitted_rule, check_client, rule_config
from openkyc.errors import InvalidParameterValue, OpenKYCError, ResourceNotFound, UnauthorizedOperation
from openkyc.jobs import Jobs
from openkyc.jobs.webhooks import SESSION_EVENT, session_payload
from openkyc.pool import ModelPool
from openkyc.privacy import ledger
from openkyc.privacy.access import DataAccess
from openkyc.privacy.crypto import sealed_key_id
from openkyc.privacy.vocabulary import DataElement, Purpose, RetentionKind
from openkyc.store.models.verification import VerificationSession
from openkyc.store.subject_keys import subject_keys_for
from openkyc.verification.service import SELFIE_ELEMENTS, VerificationModels, VerificationService

MEDIA_HOURS = 2.0
SESSION_RETENTION = RetentionKind.VERIFICATION_SESSION
E = DataElement
# the session row: its state and the customer's sealed pass-through data (extra)
SESSION_ELEMENTS: tuple[DataElement, ...] = (E.OPERATION_STATUS, E.SUBJECT_ID)
# creating one with a reference photo also checks the photo for a face and stores it
REFERENCE_ELEMENTS: tuple[DataElement, ...] = (E.FACE_IMAGE, E.KEYPOINTS)


class SessionFinished(UnauthorizedOperation):
    code = "UnauthorizedOperation.SessionFinished"
    default_message = "This verification session is finished or has expired."


def _aad(token: str, app_id: int) -> bytes:
    return f"session:{token}:{app_id}".encode()


def _ref(session: Session, token: str) -> str:
    return subject_keys_for(session).token_ref(token)


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
        redirect_url: str,
        compare_image: bytes | None,
        extra: str | None,
        base_url: str,
        client_ip: str | None = None,
    ) -> dict[str, Any]:
        elements = SESSION_ELEMENTS + (REFERENCE_ELEMENTS if compare_image is not None else ())
        self.data.gate.check(Purpose.PROVIDE_FEATURES, elements, app_id=app_id)  # before any model or write
        with self.data.transaction() as session:
            rule = admitted_rule(session, app_id, rule_id, client_ip)
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
                redirect_url=redirect_url,
                compare_blob_id=blob_id,
                extra_enc=extra_enc,
                actions=actions,
                state="created",
                attempts=0,
                result_id=None,
                created_at=now,
                expires_at=now + ttl,
            )
            session.add(row)
        base = (self.public_base_url or base_url).rstrip("/")
        return {
            "biz_token": token,
            "verification_url": f"{base}/verify/{token}",
            "expires_at": row.expires_at.isoformat(),
        }

    @staticmethod
    def _row(session: Session, token: str) -> VerificationSession:
        row = session.get(VerificationSession, _ref(session, token))
        if row is None:
            raise ResourceNotFound("The verification session does not exist.", code="ResourceNotFound.Session")
        return row

    def page_context(self, token: str) -> dict[str, Any]:
        """What the hosted page shows; no personal data."""
        with self.data.transaction() as session:
            row = self._row(session, token)
            rule = rule_config(session, row.app_id, row.rule_id)
        open_ = row.state == "created" and row.expires_at > self.data.clock()
        return {
            "biz_token": token,
            "open": open_,
            "mode": rule.liveness.mode,
            "actions": row.actions,
            "language": rule.language,
            "seconds": 4 if rule.liveness.mode == "silent" else 6,
            "attempts_left": max(0, rule.security.max_retries + 1 - row.attempts),
        }

    def sequence(self, token: str, client_ip: str | None = None) -> dict[str, Any]:
        with self.data.transaction() as session:
            row = self._open(session, token)
            check_client(rule_config(session, row.app_id, row.rule_id), client_ip)
        return self._verifications(row.app_id, client_ip).issue_sequence()

    def _open(self, session: Session, token: str) -> VerificationSession:
        row = self._row(session, token)
        if row.state != "created" or row.expires_at <= self.data.clock():
            raise SessionFinished()
        return row

    def _claim_attempt(
        self, token: str, client_ip: str | None
    ) -> tuple[VerificationSession, RuleConfig, int, bytes | None]:
        """One attempt, taken by a conditional update and committed before any model runs: of
        concurrent submits, only as many as the rule allows go on; the others get SessionFinished.
        An end user whose address the rule's ``ip_allow_list`` refuses uses up no attempt."""
        with self.data.transaction() as session:
            row = self._open(session, token)
            # the whole attempt (a selfie against the reference, or liveness; the stored result),
            # decided before the attempt is claimed or any model runs
            self.data.gate.check(Purpose.PROVIDE_FEATURES, (*SESSION_ELEMENTS, *SELFIE_ELEMENTS), app_id=row.app_id)
            rule = admitted_rule(session, row.app_id, row.rule_id, client_ip)
            allowed = rule.security.max_retries + 1
            claimed = session.execute(
                update(VerificationSession)
                .where(
                    VerificationSession.biz_token == _ref(session, token),
                    VerificationSession.state == "created",
                    VerificationSession.attempts < allowed,
                )
                .values(attempts=VerificationSession.attempts + 1)
                .returning(VerificationSession.attempts)
            ).scalar_one_or_none()
            if claimed is None:
                raise SessionFinished()
            reference = None
            if row.compare_blob_id is not None:
                reference = self.data.blobs.get(
                    session, row.app_id, row.compare_blob_id, now=self.data.clock(), purpose=Purpose.PROVIDE_FEATURES
                )
        return row, rule, int(claimed), reference

    def _release_attempt(self, token: str) -> None:
        """Gives back an attempt whose video could not be used at all (a 4xx): it is not a try."""
        with self.data.transaction() as session:
            session.execute(
                update(VerificationSession)
                .where(
                    VerificationSession.biz_token == _ref(session, token),
                    VerificationSession.state == "created",
                    VerificationSession.attempts > 0,
                )
                .values(attempts=VerificationSession.attempts - 1)
            )

    def submit(self, token: str, video: bytes, sequence_id: str | None, client_ip: str | None = None) -> dict[str, Any]:
        row, rule, attempt, reference = self._claim_attempt(token, client_ip)
        service = self._verifications(row.app_id, client_ip)
        try:
            if reference is not None:
                out = service.selfie(
                    video,
                    reference,
                    rule_id=row.rule_id,
                    mode=None,
                    actions=row.actions or None,
                    sequence_id=sequence_id,
                    subject_id=None,
                )
            else:
                out = service.liveness(
                    video,
                    rule_id=row.rule_id,
                    mode=None,
                    actions=row.actions or None,
                    sequence_id=sequence_id,
                    subject_id=None,
                )
                out.pop("best_frame", None)
        except OpenKYCError as error:
            if error.status_code < 500:
                self._release_attempt(token)
            raise
        passed = out["Result"] == "Success"
        retries_left = rule.security.max_retries + 1 - attempt
        finished = passed or retries_left <= 0
        with self.data.transaction() as session:
            # A session another attempt already finished keeps that attempt's result.
            changed = session.execute(
                update(VerificationSession)
                .where(VerificationSession.biz_token == _ref(session, token), VerificationSession.state == "created")
                .values(result_id=out["verification_id"], state="completed" if finished else "created")
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
        return {
            "app_id": row.app_id,  # for metering; the route does not send it to the end user
            "Result": out["Result"],
            "Description": out["Description"],
            "finished": finished,
            "attempts_left": max(0, retries_left) if not passed else 0,
            "redirect_url": _with_token(row.redirect_url, token) if finished else None,
        }

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
            "attempts": row.attempts,
            "result": result,
            "extra": extra,
            "created_at": row.created_at.isoformat(),
            "expires_at": row.expires_at.isoformat(),
        }


def validate_redirect(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidParameterValue(
            "redirect_url must be an absolute http(s) URL.", code="InvalidParameterValue.RedirectUrl"
        )
    return url
