"""Verification results: codes, scores and evidence; fields read from documents are sealed.

Sealed under the subject's own key when the result names a subject (the subject id itself is kept
as a keyed hash and, sealed, beside it), else under a key of the result's own that the key store
destroys when the result expires (see openkyc.store.subject_keys).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openkyc.errors import ResourceNotFound
from openkyc.logs import request_id_var
from openkyc.privacy.crypto import Keyring, SealingKey
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import personal_data_repository, requires_purpose
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose
from openkyc.store.models.verification import VerificationResult
from openkyc.store.subject_keys import subject_keys_for


def _aad(result_id: str, app_id: int) -> bytes:
    return f"verification:{result_id}:{app_id}".encode()


def _id_aad(result_id: str, app_id: int) -> bytes:
    return f"verification-subject:{result_id}:{app_id}".encode()


@personal_data_repository
class ResultRepository:
    def __init__(self, session: Session, gate: PurposeGate, keyring: Keyring) -> None:
        self.session = session
        self.gate = gate
        self.keyring = keyring

    def __repr__(self) -> str:
        return "ResultRepository()"

    @requires_purpose(DataElement.OPERATION_STATUS, DataCategory.IDENTIFICATION, writes=True)
    def add(
        self,
        app_id: int,
        *,
        kind: str,
        subject_id: str | None,
        result_code: str,
        live: bool | None,
        sim: float | None,
        details: dict[str, Any],
        identification: dict[str, Any] | None,
        now: datetime,
        expires_at: datetime,
        purpose: Purpose,
        rule_id: str | None = None,
    ) -> str:
        result_id = "ver-" + secrets.token_hex(10)
        request_id = request_id_var.get()
        if request_id is not None:  # links the result to its call record (subject rights reach the IP)
            details = {**details, "request_id": request_id}
        keys = subject_keys_for(self.session)
        sealed = subject_ref = subject_id_enc = None
        key: SealingKey | None = None
        if subject_id is not None:
            key = keys.for_subject(app_id, subject_id)
            subject_ref = keys.subject_ref(app_id, subject_id)
            subject_id_enc = key.encrypt_text(subject_id, _id_aad(result_id, app_id))
        elif identification:
            key = keys.for_record(app_id, expires_at)
        if identification and key is not None:
            sealed = key.encrypt(json.dumps(identification, sort_keys=True).encode(), _aad(result_id, app_id))
        self.session.add(
            VerificationResult(
                id=result_id,
                app_id=app_id,
                kind=kind,
                subject_id=subject_ref,
                subject_id_enc=subject_id_enc,
                result_code=result_code,
                live=live,
                sim=sim,
                details=details,
                identification_enc=sealed,
                created_at=now,
                expires_at=expires_at,
                rule_id=rule_id,
                rule_recorded=True,
            )
        )
        self.session.flush()
        return result_id

    @requires_purpose(DataElement.OPERATION_STATUS, DataCategory.IDENTIFICATION)
    def get(self, app_id: int, result_id: str, *, now: datetime, purpose: Purpose) -> dict[str, Any]:
        row = self.session.get(VerificationResult, result_id)
        if row is None or row.app_id != app_id or row.expires_at <= now:
            raise ResourceNotFound("The verification result does not exist.", code="ResourceNotFound.Verification")
        return self._view(row)

    @requires_purpose(DataElement.OPERATION_STATUS, DataCategory.IDENTIFICATION)
    def of_subject(self, app_id: int, subject_id: str, *, purpose: Purpose) -> list[dict[str, Any]]:
        ref = subject_keys_for(self.session).subject_ref(app_id, subject_id)
        rows = self.session.scalars(
            select(VerificationResult).where(VerificationResult.app_id == app_id, VerificationResult.subject_id == ref)
        )
        return [self._view(row) for row in rows]

    @requires_purpose(DataElement.OPERATION_STATUS, DataCategory.IDENTIFICATION, writes=True)
    def erase_subject(self, app_id: int, subject_id: str, *, purpose: Purpose) -> int:
        ref = subject_keys_for(self.session).subject_ref(app_id, subject_id)
        rows = self.session.scalars(
            select(VerificationResult).where(VerificationResult.app_id == app_id, VerificationResult.subject_id == ref)
        ).all()
        for row in rows:
            self.session.delete(row)
        self.session.flush()
        return len(rows)

    @requires_purpose(DataElement.OPERATION_STATUS, writes=True)
    def delete_expired(self, now: datetime, *, purpose: Purpose) -> int:
        rows = self.session.scalars(select(VerificationResult).where(VerificationResult.expires_at <= now)).all()
        for row in rows:
            self.session.delete(row)
        self.session.flush()
        return len(rows)

    def _view(self, row: VerificationResult) -> dict[str, Any]:
        identification = None
        if row.identification_enc is not None:
            identification = json.loads(self.keyring.decrypt(row.identification_enc, _aad(row.id, row.app_id)))
        subject_id = None
        if row.subject_id_enc is not None:
            subject_id = self.keyring.decrypt(row.subject_id_enc, _id_aad(row.id, row.app_id)).decode()
        return {
            "verification_id": row.id,
            "kind": row.kind,
            "subject_id": subject_id,
            "Result": row.result_code,
            "live": row.live,
            "sim": row.sim,
            "details": row.details,
            "identification": identification,
            "created_at": row.created_at.isoformat(),
            "expires_at": row.expires_at.isoformat(),
        }
