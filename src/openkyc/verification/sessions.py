"""Hosted verification sessions (BizToken): created by the customer, completed by the end user.

The customer creates a session with a rule, a redirect URL and optionally a reference photo; the
end user opens ``/verify/{biz_token}`` (the token is the only credential), records a short selfie
video, and is sent back to the redirect URL. The customer then reads the result with a signed
``GET /v1/sessions/{biz_token}/result``.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy.orm import Session

from openkyc.config.service import rule_config
from openkyc.errors import InvalidParameterValue, ResourceNotFound, UnauthorizedOperation
from openkyc.runtime import Runtime
from openkyc.store.models.verification import VerificationSession
from openkyc.verification.service import VerificationService

MEDIA_HOURS = 2.0


class SessionFinished(UnauthorizedOperation):
    code = "UnauthorizedOperation.SessionFinished"
    default_message = "This verification session is finished or has expired."


def _aad(token: str, app_id: int) -> bytes:
    return f"session:{token}:{app_id}".encode()


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + urlencode({"biz_token": token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@dataclass
class SessionService:
    runtime: Runtime
    session: Session

    def create(
        self,
        app_id: int,
        *,
        rule_id: str | None,
        redirect_url: str,
        compare_image: bytes | None,
        extra: str | None,
        base_url: str,
    ) -> dict[str, Any]:
        rule = rule_config(self.session, app_id, rule_id)
        now = self.runtime.clock()
        token = secrets.token_urlsafe(24)
        blob_id = None
        if compare_image is not None:
            engine = self.runtime.faces
            engine.select_face(engine.decode(compare_image), enforce_quality=False)  # refuse a useless photo now
            blob_id = self.runtime.blobs.put(
                self.session,
                app_id=app_id,
                kind="face_image",
                data=compare_image,
                now=now,
                expires_at=now + timedelta(hours=min(MEDIA_HOURS, rule.retention.media_hours)),
            )
        actions = list(rule.liveness.actions)
        if rule.liveness.randomize_order:
            random.SystemRandom().shuffle(actions)
        ttl = timedelta(minutes=rule.security.session_ttl_minutes)
        row = VerificationSession(
            biz_token=token,
            app_id=app_id,
            rule_id=rule_id,
            redirect_url=redirect_url,
            compare_blob_id=blob_id,
            extra_enc=self.runtime.keyring.encrypt(extra.encode(), _aad(token, app_id)) if extra else None,
            actions=actions,
            state="created",
            attempts=0,
            result_id=None,
            created_at=now,
            expires_at=now + ttl,
        )
        self.session.add(row)
        self.session.flush()
        base = (self.runtime.settings.public_base_url or base_url).rstrip("/")
        return {
            "biz_token": token,
            "verification_url": f"{base}/verify/{token}",
            "expires_at": row.expires_at.isoformat(),
        }

    def _row(self, token: str) -> VerificationSession:
        row = self.session.get(VerificationSession, token)
        if row is None:
            raise ResourceNotFound("The verification session does not exist.", code="ResourceNotFound.Session")
        return row

    def page_context(self, token: str) -> dict[str, Any]:
        """What the hosted page shows; no personal data."""
        row = self._row(token)
        rule = rule_config(self.session, row.app_id, row.rule_id)
        open_ = row.state == "created" and row.expires_at > self.runtime.clock()
        return {
            "biz_token": token,
            "open": open_,
            "mode": rule.liveness.mode,
            "actions": row.actions,
            "language": rule.language,
            "seconds": 4 if rule.liveness.mode == "silent" else 6,
            "attempts_left": max(0, rule.security.max_retries + 1 - row.attempts),
        }

    def sequence(self, token: str) -> dict[str, Any]:
        row = self._open(token)
        return VerificationService(self.runtime, self.session, row.app_id).issue_sequence()

    def _open(self, token: str) -> VerificationSession:
        row = self._row(token)
        if row.state != "created" or row.expires_at <= self.runtime.clock():
            raise SessionFinished()
        return row

    def submit(self, token: str, video: bytes, sequence_id: str | None) -> dict[str, Any]:
        row = self._open(token)
        rule = rule_config(self.session, row.app_id, row.rule_id)
        service = VerificationService(self.runtime, self.session, row.app_id)
        row.attempts += 1
        if row.compare_blob_id is not None:
            reference = self.runtime.blobs.get(self.session, row.app_id, row.compare_blob_id, now=self.runtime.clock())
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
        row.result_id = out["verification_id"]
        passed = out["Result"] == "Success"
        retries_left = rule.security.max_retries + 1 - row.attempts
        if passed or retries_left <= 0:
            row.state = "completed"
        self.session.flush()
        return {
            "Result": out["Result"],
            "Description": out["Description"],
            "finished": row.state == "completed",
            "attempts_left": max(0, retries_left) if not passed else 0,
            "redirect_url": _with_token(row.redirect_url, token) if row.state == "completed" else None,
        }

    def result(self, app_id: int, token: str) -> dict[str, Any]:
        row = self._row(token)
        if row.app_id != app_id:
            raise ResourceNotFound("The verification session does not exist.", code="ResourceNotFound.Session")
        now = self.runtime.clock()
        state = "expired" if row.state == "created" and row.expires_at <= now else row.state
        extra = None
        if row.extra_enc is not None:
            extra = self.runtime.keyring.decrypt(row.extra_enc, _aad(token, app_id)).decode()
        result = None
        if row.result_id is not None:
            try:
                result = VerificationService(self.runtime, self.session, app_id).result(row.result_id)
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
