"""Document OCR as a service: the purpose check, the rule's accepted types and failing warnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from openkyc.config.rules import RuleConfig
from openkyc.config.service import admitted_rule
from openkyc.documents.quality import apply_warning_rule
from openkyc.documents.reader import DocumentReader, DocumentResult, error_for_code
from openkyc.documents.sides import combine
from openkyc.errors import DocumentExpired, DocumentHolderUnderage, DocumentStateNotAllowed, FailedOperation
from openkyc.pool import ModelPool
from openkyc.privacy.access import DataAccess
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose

NOT_FOUND = "FailedOperation.DocumentNotFound"
TYPE_NOT_ALLOWED = "FailedOperation.DocumentTypeNotAllowed"
WARNINGS_FAILED = "FailedOperation.DocumentWarnings"
CARD_STATES = {"HK_ID": "HKG", "MY_MYKAD": "MYS", "SG_NRIC": "SGP", "ID_NIK": "IDN"}
"""The issuing state of each ID-card template (GENERIC_ID has none)."""


def rule_type(result: DocumentResult) -> str | None:
    """The document's type in rule terms: the MRZ format (TD1...MRVB) or the card template."""
    if result.mrz is not None:
        return result.mrz.format
    return result.document_type


def issuing_state(result: DocumentResult) -> str | None:
    """The issuing state's code: from the MRZ, or the card template's country."""
    if result.mrz is not None:
        return result.mrz.fields.get("issuing_state") or None
    return CARD_STATES.get(result.document_type or "")


def holder_age(result: DocumentResult, today: date) -> int | None:
    """Whole years since the birth date read (MRZ or card), None when there is none."""
    born = result.mrz.birth_date if result.mrz is not None else None
    if born is None:
        try:
            born = date.fromisoformat(result.fields.get("birth_date_iso") or result.fields.get("birth_date", ""))
        except ValueError:
            return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def judge(result: DocumentResult, rule: RuleConfig, today: date) -> tuple[str, dict[str, Any]]:
    """The document step's code under the rule, and the reasons and flags (all stored with the result).

    Order: the reading itself, the document type, the issuing state, expiry, the holder's minimum
    age, then the warnings the rule lists as failing.
    """
    verdict = apply_warning_rule(result.warnings, rule.failing_document_warnings)
    kind = rule_type(result)
    mrz = result.mrz
    expired = mrz.expired if mrz is not None else None
    details: dict[str, Any] = {
        "rule_type": kind,
        "failing_warnings": list(verdict.failing),
        "warnings": list(result.warnings),
        "expired": expired,
        "corrections": [c.as_dict() for c in mrz.corrections] if mrz is not None else [],
        "mrz_valid": mrz.valid if mrz is not None else None,
        "mrz_invalid": [{"field": f, "reason": r} for f, r in mrz.invalid] if mrz is not None else [],
        "unconfirmed_fields": list(result.unconfirmed_fields),
    }
    if result.code != "Success":
        return result.code, details
    if kind not in rule.document_types:
        return TYPE_NOT_ALLOWED, details
    if rule.accepted_issuing_states and issuing_state(result) not in rule.accepted_issuing_states:
        return DocumentStateNotAllowed.code, details
    if expired and not rule.allow_expired_document:
        return DocumentExpired.code, details
    if rule.min_age is not None:
        age = holder_age(result, today)
        details["age_verified"] = age is not None and age >= rule.min_age
        if not details["age_verified"]:
            return DocumentHolderUnderage.code, details
    if not verdict.passed:
        return WARNINGS_FAILED, details
    return "Success", details


class DocumentModels(Protocol):
    """What document services need from one model instance of the pool."""

    @property
    def documents(self) -> DocumentReader: ...


@dataclass
class DocumentService:
    data: DataAccess
    models: ModelPool[DocumentModels]
    app_id: int
    client_ip: str | None = None  # the caller's address, checked against a named rule's ip_allow_list

    def read(self, image: bytes, models: DocumentModels | None = None) -> DocumentResult:
        """OCR of ``image`` on ``models`` (an instance the caller already holds) or on a pooled one."""
        self.data.gate.check(Purpose.PROVIDE_FEATURES, [DataElement.DOCUMENT_IMAGE, DataCategory.IDENTIFICATION])
        today = self.data.clock().date()
        if models is not None:
            return models.documents.read_bytes(image, today=today)
        with self.models.lease() as leased:
            return leased.documents.read_bytes(image, today=today)

    def read_sides(self, front: bytes, back: bytes | None, models: DocumentModels | None = None) -> DocumentResult:
        """Both sides of a document read as one (:func:`openkyc.documents.sides.combine`); a missing
        front (no document in it) fails before the back is read."""
        first = self.read(front, models)
        if first.code == NOT_FOUND or back is None:
            return first
        return combine(first, self.read(back, models))

    def ocr(self, image: bytes, rule_id: str | None) -> dict[str, Any]:
        with self.data.transaction() as session:
            rule = admitted_rule(session, self.app_id, rule_id, self.client_ip)
        result = self.read(image)
        if result.code == NOT_FOUND:
            error = error_for_code(result.code) or FailedOperation(code=NOT_FOUND)
            raise error
        code, details = judge(result, rule, self.data.clock().date())
        return {**result.to_dict(), "Result": code, **details}
