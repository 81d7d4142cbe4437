"""Document OCR as a service: the purpose check, the rule's accepted types and failing warnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from openkyc.config.rules import RuleConfig
from openkyc.config.service import admitted_rule
from openkyc.documents.quality import apply_warning_rule
from openkyc.documents.reader import DocumentReader, DocumentResult, error_for_code
from openkyc.errors import FailedOperation
from openkyc.pool import ModelPool
from openkyc.privacy.access import DataAccess
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose

NOT_FOUND = "FailedOperation.DocumentNotFound"
TYPE_NOT_ALLOWED = "FailedOperation.DocumentTypeNotAllowed"
WARNINGS_FAILED = "FailedOperation.DocumentWarnings"


def rule_type(result: DocumentResult) -> str | None:
    """The document's type in rule terms: the MRZ format (TD1...MRVB) or the card template."""
    if result.mrz is not None:
        return result.mrz.format
    return result.document_type


def judge(result: DocumentResult, rule: RuleConfig) -> tuple[str, dict[str, Any]]:
    """The document step's code under the rule, and the reasons."""
    verdict = apply_warning_rule(result.warnings, rule.failing_document_warnings)
    kind = rule_type(result)
    details: dict[str, Any] = {"rule_type": kind, "failing_warnings": list(verdict.failing)}
    if result.code != "Success":
        return result.code, details
    if kind not in rule.document_types:
        return TYPE_NOT_ALLOWED, details
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

    def ocr(self, image: bytes, rule_id: str | None) -> dict[str, Any]:
        with self.data.transaction() as session:
            rule = admitted_rule(session, self.app_id, rule_id, self.client_ip)
        result = self.read(image)
        if result.code == NOT_FOUND:
            error = error_for_code(result.code) or FailedOperation(code=NOT_FOUND)
            raise error
        code, details = judge(result, rule)
        return {**result.to_dict(), "Result": code, **details}
