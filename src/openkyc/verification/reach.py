"""Subject rights over verification results and hosted sessions (BizToken).

Results are found by ``subject_id`` and, for hosted sessions, through the session's ``result_id``.
Hosted sessions hold no subject id: the customer names them by ``biz_token`` (an export or an
erasure for a subject may list the tokens of the sessions it ran for that person, or name one
session alone). Both steps note the request ids and hosted-page windows they touched on the
context, so the call-record step (:mod:`openkyc.diagnostics.reach`) reaches the addresses.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import or_, select

from openkyc.biometrics.reach import identification_use
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.crypto import sealed_key_id
from openkyc.privacy.datamap import covers_of, plain_of
from openkyc.privacy.reach import (
    REACH,
    ColumnUse,
    EndUser,
    Found,
    ReachContext,
    Target,
    WholeAccount,
    deletion_time,
)
from openkyc.privacy.reach_steps import media_file
from openkyc.privacy.vocabulary import DataElement, Obligation, Purpose, RetentionKind
from openkyc.store.models.media import Blob
from openkyc.store.models.verification import VerificationResult, VerificationSession
from openkyc.store.subject_keys import subject_keys_for
from openkyc.verification.repository import _aad as _result_aad
from openkyc.verification.repository import _id_aad as _result_id_aad
from openkyc.verification.sessions import session_aad as _session_aad

__all__ = ["ResultReach", "SessionReach"]

_SERVICE = (Purpose.PROVIDE_FEATURES, Purpose.TROUBLESHOOTING)
_STATUS = ColumnUse.of(DataElement.OPERATION_STATUS)
_SOURCES = {
    "identity": "read from the identity document and the selfie video (POST /v1/verifications/identity)",
    "selfie": "computed from the selfie video and the reference photo (POST /v1/verifications/selfie)",
    "liveness": "computed from the selfie video (POST /v1/liveness)",
}


def _sessions(ctx: ReachContext, target: Target) -> list[VerificationSession]:
    if isinstance(target, EndUser) and target.biz_tokens:
        refs = list(ctx.token_refs(target.biz_tokens))  # the table holds keyed hashes of the tokens
        query = select(VerificationSession).where(
            VerificationSession.app_id == target.app_id, VerificationSession.biz_token.in_(refs)
        )
    elif isinstance(target, WholeAccount) and target.app_ids:
        query = select(VerificationSession).where(VerificationSession.app_id.in_(target.app_ids))
    else:
        return []
    return list(ctx.session.scalars(query.order_by(VerificationSession.created_at)))


@REACH.register
class ResultReach:
    name = "verification.results"
    order = 20
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="verification.results")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("verification.results")
    plain: Mapping[str, tuple[str, ...]] = plain_of("verification.results")

    def _rows(self, ctx: ReachContext, target: Target) -> list[VerificationResult]:
        if isinstance(target, EndUser):
            linked = [s.result_id for s in _sessions(ctx, target) if s.result_id]
            conditions = []
            if target.subject_id is not None:
                conditions.append(VerificationResult.subject_id == ctx.subject_ref(target.app_id, target.subject_id))
            if linked:
                conditions.append(VerificationResult.id.in_(linked))
            if not conditions:
                return []
            query = select(VerificationResult).where(VerificationResult.app_id == target.app_id, or_(*conditions))
        elif isinstance(target, WholeAccount) and target.app_ids:
            query = select(VerificationResult).where(VerificationResult.app_id.in_(target.app_ids))
        else:
            return []
        rows = list(ctx.session.scalars(query.order_by(VerificationResult.created_at)))
        for row in rows:
            ctx.linked_ids.add(row.id)
            request_id = (row.details or {}).get("request_id")
            if isinstance(request_id, str):
                ctx.request_ids.add(request_id)
        return rows

    @staticmethod
    def _found(
        ctx: ReachContext,
        row: VerificationResult,
        column: str,
        use: ColumnUse,
        value: dict[str, Any],
        name: str | None = None,
    ) -> Found:
        return Found(
            table="verification_results",
            column=column,
            use=use,
            kind=f"{row.kind}_verification",
            source=_SOURCES.get(row.kind, "computed by the service"),
            purposes=ctx.purposes(use.element, use.category, _SERVICE),
            value={"verification_id": row.id, **value},
            record=row.id,
            field=name,
            created_at=row.created_at,
            expires_at=deletion_time(ctx.policy, RetentionKind.VERIFICATION_RESULT, row.created_at, row.expires_at),
            retention=RetentionKind.VERIFICATION_RESULT,
        )

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        found = self._found
        covers = self.covers["verification_results"]
        for row in self._rows(ctx, target):
            if row.subject_id_enc is not None and ctx.opens(row.subject_id_enc):
                subject_id = ctx.keyring.decrypt(row.subject_id_enc, _result_id_aad(row.id, row.app_id)).decode()
                hashed = {"subject_id": subject_id, "stored_as": "keyed hash (HMAC-SHA256)"}
                yield found(ctx, row, "subject_id", covers["subject_id"], hashed)
                sealed = {"subject_id": subject_id, "stored_as": "sealed under the subject's own key"}
                yield found(ctx, row, "subject_id_enc", covers["subject_id_enc"], sealed)
            yield found(ctx, row, "result_code", _STATUS, {"kind": row.kind, "Result": row.result_code})
            if row.live is not None:
                yield found(ctx, row, "live", _STATUS, {"live": row.live})
            if row.sim is not None:
                yield found(ctx, row, "sim", _STATUS, {"sim": row.sim})
            # liveness evidence, document checks, comparison scores: everything the result keeps
            yield found(ctx, row, "details", _STATUS, {"details": row.details})
            if row.identification_enc is not None and ctx.opens(row.identification_enc):
                plain = ctx.keyring.decrypt(row.identification_enc, _result_aad(row.id, row.app_id))
                for name, value in sorted(json.loads(plain).items()):
                    if value is not None:
                        yield found(ctx, row, "identification_enc", identification_use(name), {name: value}, name)

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        rows = ctx.delete_rows(self._rows(ctx, target))
        return {"verification_results": len(rows)}


@REACH.register
class SessionReach:
    name = "verification.sessions"
    order = 30
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="verification.sessions")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("verification.sessions")
    plain: Mapping[str, tuple[str, ...]] = plain_of("verification.sessions")

    def _rows(self, ctx: ReachContext, target: Target) -> list[VerificationSession]:
        rows = _sessions(ctx, target)
        for row in rows:
            ctx.hosted_windows.append((row.app_id, row.created_at, row.expires_at))
        return rows

    def _found(
        self, ctx: ReachContext, row: VerificationSession, column: str, value: dict[str, Any], source: str, token: str
    ) -> Found:
        use = self.covers["verification_sessions"][column]
        return Found(
            table="verification_sessions",
            column=column,
            use=use,
            kind="hosted_session",
            source=source,
            purposes=ctx.purposes(use.element, use.category, _SERVICE),
            value={"biz_token": token, **value},
            record=token,
            created_at=row.created_at,
            expires_at=deletion_time(ctx.policy, RetentionKind.VERIFICATION_SESSION, row.created_at),
            retention=RetentionKind.VERIFICATION_SESSION,
        )

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        tokens = ctx.token_refs(target.biz_tokens) if isinstance(target, EndUser) else {}
        by_customer = "given by the customer when creating the session (POST /v1/sessions)"
        page = "the hosted page, as the end user completed it (/verify/{biz_token})"
        for row in self._rows(ctx, target):
            token = tokens.get(row.biz_token, row.biz_token)  # the table holds the token's keyed hash
            expires = {"link_expires_at": row.expires_at.isoformat()}
            yield self._found(ctx, row, "biz_token", expires, by_customer, token)
            yield self._found(ctx, row, "redirect_url", {"redirect_url": row.redirect_url}, by_customer, token)
            yield self._found(ctx, row, "actions", {"actions": list(row.actions or [])}, "chosen by the rule", token)
            yield self._found(ctx, row, "state", {"state": row.state}, page, token)
            yield self._found(ctx, row, "attempts", {"attempts": row.attempts}, page, token)
            if row.check_mode is not None:
                yield self._found(ctx, row, "check_mode", {"check_mode": row.check_mode}, by_customer, token)
            if row.consent_id is not None:  # the end user's agreement to the page's notice
                yield self._found(ctx, row, "consent_id", {"consent_id": row.consent_id}, page, token)
            if row.liveness_mode is not None:
                yield self._found(ctx, row, "liveness_mode", {"liveness_mode": row.liveness_mode}, page, token)
            if row.last_reply is not None:
                yield self._found(ctx, row, "last_reply", {"last_reply": row.last_reply}, page, token)
            if row.result_id is not None:
                yield self._found(ctx, row, "result_id", {"verification_id": row.result_id}, page, token)
            if row.extra_enc is not None and ctx.opens(row.extra_enc):
                extra = ctx.keyring.decrypt(row.extra_enc, _session_aad(token, row.app_id)).decode()
                yield self._found(ctx, row, "extra_enc", {"extra": extra}, by_customer, token)
            if row.compare_blob_id is not None:
                yield self._reference(ctx, row, row.compare_blob_id, token)

    def _reference(self, ctx: ReachContext, row: VerificationSession, blob_id: str, token: str) -> Found:
        blob = ctx.session.get(Blob, blob_id)
        media = media_file(ctx, row.app_id, blob_id)
        created = blob.created_at if blob else row.created_at
        expires = deletion_time(ctx.policy, RetentionKind.FACE_IMAGE, created, blob.expires_at if blob else None)
        value = {"blob_id": blob_id, "bytes": blob.size if blob else None, "file": media.name if media else None}
        source = "given by the customer when creating the session (compare_image)"
        base = self._found(ctx, row, "compare_blob_id", value, source, token)
        return dataclasses.replace(
            base, created_at=created, expires_at=expires, file=media, retention=RetentionKind.FACE_IMAGE
        )

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        rows = ctx.delete_rows(self._rows(ctx, target))  # only those this erasure removed
        by_app: dict[int, list[str]] = {}
        consents = 0
        for row in rows:
            if row.compare_blob_id is not None:
                ctx.blob_ids.add(row.compare_blob_id)
            if row.extra_enc is not None:
                by_app.setdefault(row.app_id, []).append(sealed_key_id(bytes(row.extra_enc)))
            # the notice's consent is recorded under the session (openkyc.verification.sessions)
            erased = ConsentRepository(ctx.session, ctx.gate).erase_subject(
                row.app_id, f"session:{row.biz_token}", purpose=Obligation.SUBJECT_RIGHTS
            )
            consents += erased["consents"]
        ctx.session.flush()
        # the extra is sealed under the session's own record key: destroyed now, so the copies of
        # the row in the WAL and in backups stop opening (deleting the row alone leaves them readable)
        keys = subject_keys_for(ctx.session)
        destroyed = sum(keys.destroy_records(app_id, key_ids) for app_id, key_ids in by_app.items())
        return {"hosted_sessions": len(rows), "consents": consents, "session_keys_destroyed": destroyed}
