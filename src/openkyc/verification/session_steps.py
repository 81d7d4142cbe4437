"""The hosted page's steps before the submit: what the page shows, the end user's answer to the
notice (a consent, or the session declined), the liveness sequence or timed challenge, and a look
at one side of the document. None of them uses an attempt."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from openkyc.config.rules import RuleConfig
from openkyc.config.service import admitted_rule, check_client, rule_config
from openkyc.documents.service import DocumentService
from openkyc.documents.sides import needs_back
from openkyc.errors import InvalidParameterValue
from openkyc.jobs.webhooks import SESSION_EVENT, session_payload
from openkyc.liveness.challenge import ChallengeConfig
from openkyc.liveness.service import ChallengeService
from openkyc.privacy import audit
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.verification import VerificationSession
from openkyc.verification.session_base import (
    DECLINED,
    MEDIA_KINDS,
    NOTICE_ITEMS,
    NOTICE_VERSION,
    SESSION_ELEMENTS,
    NoticeNotAccepted,
    SessionBase,
    SessionFinished,
    back_url,
    check_mode_of,
    consent_subject,
    liveness_mode_of,
    recording_seconds,
    steps_of,
    token_ref_of,
    uses_challenge,
)


class HostedSteps(SessionBase):
    """The end user's steps on the hosted page before the submit."""

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
        liveness_mode = liveness_mode_of(row, rule)
        hosted = rule.hosted
        challenge = uses_challenge(rule, mode, row.liveness_mode)
        return {
            "biz_token": token,
            "open": open_,
            "state": "expired" if row.state == "created" and not open_ else row.state,
            "check_mode": mode,
            "steps": steps_of(mode),
            "mode": liveness_mode,
            "rule_mode": rule.liveness.mode,
            "silent_allowed": rule.liveness.mode == "reflection" and hosted.silent_instead_of_reflection,
            "actions": row.actions if liveness_mode == "action" else [],
            "session_language": row.language,
            "rule_language": rule.language,
            "challenge": challenge,
            "seconds": recording_seconds(liveness_mode, challenge),
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
            ref = token_ref_of(session, token)
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
                return {"state": DECLINED, "redirect_url": back_url(row.redirect_url, token)}
            if use_silent and not (rule.liveness.mode == "reflection" and rule.hosted.silent_instead_of_reflection):
                raise InvalidParameterValue(
                    "The rule does not offer silent liveness instead of reflection.",
                    code="InvalidParameterValue.LivenessMode",
                )
            version = f"hosted-notice-{NOTICE_VERSION}/policy-{self.data.gate.policy.version}"
            record = ConsentRepository(session, self.data.gate, clock=self.data.clock).record(
                row.app_id, consent_subject(ref), Purpose.PROVIDE_FEATURES, version, purpose=Purpose.PROVIDE_FEATURES
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
            ref = token_ref_of(session, token)
        if not uses_challenge(rule, check_mode_of(row), row.liveness_mode):
            raise InvalidParameterValue(
                "This session does not use timed challenges.", code="InvalidParameterValue.LivenessMode"
            )
        liveness_mode = liveness_mode_of(row, rule)
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
