"""Document OCR as a service: the purpose check, the rule's accepted types and failing warnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from openkyc.config.rules import RuleConfig
from openkyc.config.service import rule_config
from openkyc.documents.quality import apply_warning_rule
from openkyc.documents.reader import DocumentResult, error_for_code
from openkyc.errors import FailedOperation
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose
from openkyc.runtime import Runtime

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


@dataclass
class DocumentService:
    runtime: Runtime
    session: Session
    app_id: int

    def read(self, image: bytes) -> DocumentResult:
        self.runtime.gate.check(Purpose.PROVIDE_FEATURES, [DataElement.DOCUMENT_IMAGE, DataCategory.IDENTIFICATION])
        reader, lock = self.runtime.documents
        with lock:
            return reader.read_bytes(image, today=self.runtime.clock().date())

    def ocr(self, image: bytes, rule_id: str | None) -> dict[str, Any]:
        rule = rule_config(self.session, self.app_id, rule_id)
        result = self.read(image)
        if result.code == NOT_FOUND:
            error = error_for_code(result.code) or FailedOperation(code=NOT_FOUND)
            raise error
        code, details = judge(result, rule)
        return {**result.to_dict(), "Result": code, **details}
