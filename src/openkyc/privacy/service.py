"""Privacy services the API and CLI call: consent, the record of processing, the subject salt.

Each service owns its transaction and its audit record; routes only translate HTTP. Subject rights
(export, erasure) live in :mod:`openkyc.compliance.rights`, the sweep in :mod:`openkyc.privacy.sweep`.
Services take the narrow pieces they use (:class:`DataAccess`, the settings), never the runtime
(DESIGN.md section 7); the adapters build them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from openkyc.errors import InvalidParameterValue
from openkyc.privacy import audit
from openkyc.privacy.access import DataAccess
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.crypto import Keyring
from openkyc.privacy.policy import Policy, default_policy_text
from openkyc.privacy.ropa import AppRetention, Format, Party, build_record, render
from openkyc.privacy.vocabulary import Obligation, Purpose, RetentionKind
from openkyc.settings import Settings
from openkyc.store.models.accounts import App
from openkyc.store.models.config import Rule

__all__ = [
    "ConsentService",
    "app_retention",
    "parse_purpose",
    "record_of_processing",
    "rule_retention",
    "subject_salt",
]

_SALT_INFO = b"openkyc/erasure-receipt/subject-reference-salt/v1"
MEDIA_KINDS = (RetentionKind.FACE_IMAGE, RetentionKind.FACE_VIDEO, RetentionKind.DOCUMENT_IMAGE)


def subject_salt(keyring: Keyring) -> bytes:
    """The salt of erasure receipts' subject references: HKDF of the oldest data key.

    Data keys are never deleted (rotation adds one), so the salt is stable across restarts and
    key rotations, and it is as secret as the data keys themselves.
    """
    oldest = next(iter(keyring.keys.values()))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SALT_INFO).derive(oldest)


def parse_purpose(value: str) -> Purpose:
    try:
        return Purpose(value)
    except ValueError as exc:
        raise InvalidParameterValue(
            "Unknown purpose; use one of: " + ", ".join(p.value for p in Purpose) + ".",
            code="InvalidParameterValue.Purpose",
        ) from exc


@dataclass
class ConsentService:
    """Record and withdraw explicit consent; withdrawal deletes the subject's consented items."""

    data: DataAccess
    app_id: int
    actor: str

    def _repo(self, session: Session) -> ConsentRepository:
        return ConsentRepository(session, self.data.gate, clock=self.data.clock)

    def record(self, subject_id: str, purpose: str, text_version: str) -> dict[str, Any]:
        chosen = parse_purpose(purpose)
        with self.data.transaction() as session:
            # the record is the proof that the consented processing needs: kept for that purpose
            record = self._repo(session).record(self.app_id, subject_id, chosen, text_version, purpose=chosen)
            audit.append(
                session,
                audit.AuditEvent.CONSENT,
                actor=self.actor,
                app_id=self.app_id,
                now=self.data.clock(),
                details={"action": "grant", "purpose": chosen.value, "consent_id": record.id},
            )
        return {
            "consent_id": record.id,
            "subject_id": subject_id,
            "purpose": chosen.value,
            "text_version": record.text_version,
            "granted_at": record.granted_at.isoformat(),
        }

    def withdraw(self, subject_id: str, purpose: str) -> dict[str, Any]:
        chosen = parse_purpose(purpose)
        with self.data.transaction() as session:
            withdrawal = self._repo(session).withdraw(
                self.app_id,
                subject_id,
                chosen,
                purpose=Obligation.SUBJECT_RIGHTS,  # Art. 7(3): never refused
            )
            blobs_deleted = sum(
                self.data.blobs.delete(session, ref, purpose=Obligation.SUBJECT_RIGHTS) for ref in withdrawal.blob_refs
            )
            audit.append(
                session,
                audit.AuditEvent.CONSENT,
                actor=self.actor,
                app_id=self.app_id,
                now=self.data.clock(),
                details={
                    "action": "withdraw",
                    "purpose": chosen.value,
                    "consents_withdrawn": withdrawal.consents_withdrawn,
                    "items_removed": withdrawal.items_removed,
                    "blobs_deleted": blobs_deleted,
                },
            )
        return {
            "subject_id": subject_id,
            "purpose": chosen.value,
            "consents_withdrawn": withdrawal.consents_withdrawn,
            "items_removed": withdrawal.items_removed,
            "blobs_deleted": blobs_deleted,
        }


def rule_retention(session: Session, policy: Policy, app_ids: list[int] | None = None) -> list[AppRetention]:
    """Per rule, the retention periods it sets shorter than the policy (rules that shorten nothing: left out).

    A rule's period applies to what was made under that rule (the ``rule_id`` recorded with each
    verification result and blob), never to what another rule of the same app made.
    """
    query = select(Rule.app_id, Rule.id, Rule.config).order_by(Rule.app_id, Rule.id)
    if app_ids is not None:
        query = query.where(Rule.app_id.in_(app_ids))
    names = dict(session.execute(select(App.id, App.name)).tuples().all())
    out = []
    for app_id, rule_id, config in session.execute(query):
        retention = (config or {}).get("retention") or {}
        wanted: dict[RetentionKind, Any] = {kind: retention.get("media_hours") for kind in MEDIA_KINDS}
        wanted[RetentionKind.VERIFICATION_RESULT] = retention.get("result_hours")
        overrides = {
            kind: float(hours)
            for kind, hours in wanted.items()
            if isinstance(hours, int | float) and hours < policy.max_retention_hours(kind)
        }
        if overrides:
            out.append(
                AppRetention(
                    app_id=app_id, app_name=names.get(app_id, str(app_id)), rule_id=rule_id, overrides=overrides
                )
            )
    return out


def app_retention(rules: list[AppRetention]) -> dict[int, dict[RetentionKind, float]]:
    """Per app, the shortest period its rules set for each kind: what applies to the rows written
    before migration 0018, which did not record the rule they were made under."""
    shortest: dict[int, dict[RetentionKind, float]] = defaultdict(dict)
    for rule in rules:
        for kind, hours in rule.overrides.items():
            shortest[rule.app_id][kind] = min(hours, shortest[rule.app_id].get(kind, hours))
    return dict(shortest)


def record_of_processing(
    data: DataAccess, settings: Settings, fmt: Format = "md", *, app_ids: list[int] | None = None
) -> str:
    """The Article 30 record from the policy in force, settings and the apps' rules."""
    policy = data.gate.policy
    if settings.policy_file is not None:
        policy_text = settings.policy_file.read_text(encoding="utf-8")
    else:
        policy_text = default_policy_text()
    with data.transaction() as session:
        apps = rule_retention(session, policy, app_ids)
    record = build_record(
        policy,
        controller=Party(
            name=settings.controller_name, contact=settings.controller_contact, dpo_contact=settings.dpo_contact
        ),
        processor=Party(name=settings.processor_name, contact=settings.dpo_contact or settings.controller_contact),
        generated_at=data.clock(),
        apps=apps,
        policy_text=policy_text,
    )
    return render(record, fmt)
