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

The parts: creation and the customer's read of the result here; the page's steps before the
submit in :mod:`~openkyc.verification.session_steps`; the submit and its attempts in
:mod:`~openkyc.verification.session_attempts`; the check modes, errors and helpers they share in
:mod:`~openkyc.verification.session_base`.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from openkyc.config.rules import RuleConfig, SessionDocumentOptions
from openkyc.config.service import admitted_rule
from openkyc.errors import InvalidParameterValue, ResourceNotFound
from openkyc.privacy import ledger
from openkyc.privacy.crypto import sealed_key_id
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.verification import VerificationSession
from openkyc.store.subject_keys import subject_keys_for
from openkyc.verification.session_attempts import SessionAttempts
from openkyc.verification.session_base import (
    CHECK_MODES,
    DECLINED,
    MEDIA_HOURS,
    PLAIN_SILENT,
    REFERENCE_ELEMENTS,
    SESSION_ELEMENTS,
    SESSION_RETENTION,
    AttemptInProgress,
    CheckMode,
    NoticeNotAccepted,
    SessionFinished,
    check_mode_of,
    chosen_check_mode,
    session_aad,
    token_ref_of,
    validate_redirect,
)
from openkyc.verification.session_steps import HostedSteps

__all__ = [
    "CHECK_MODES",
    "DECLINED",
    "AttemptInProgress",
    "CheckMode",
    "NoticeNotAccepted",
    "SessionFinished",
    "SessionService",
    "check_mode_of",
    "session_aad",
    "validate_redirect",
]


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


@dataclass
class SessionService(HostedSteps, SessionAttempts):
    """A hosted session: created and read by the customer (here), its page steps
    (:class:`HostedSteps`) and its submit (:class:`SessionAttempts`) used by the end user."""

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
        mode = chosen_check_mode(check_mode, compare_image is not None)
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
                    rule_id=rule_id,
                    purpose=Purpose.PROVIDE_FEATURES,
                )
            extra_enc = None
            if extra:  # sealed under a key of the session's own, destroyed after the policy's period
                kept = timedelta(hours=self.data.gate.policy.max_retention_hours(SESSION_RETENTION))
                extra_key = subject_keys_for(session).for_record(app_id, now + max(kept, ttl))
                extra_enc = extra_key.encrypt(extra.encode(), session_aad(token, app_id))
            ledger.touched("sessions.create", SESSION_ELEMENTS, ledger.WRITE)
            row = VerificationSession(
                biz_token=token_ref_of(session, token),
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
            extra = self.data.keyring.decrypt(row.extra_enc, session_aad(token, app_id)).decode()  # else: shredded
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
