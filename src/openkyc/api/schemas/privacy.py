"""Answers of consent, model-improvement samples, subject access and erasure."""

from __future__ import annotations

from openkyc.api.schemas.common import Answer
from openkyc.compliance.subjects import ErasureReceipt, SubjectExport


class ConsentAnswer(Answer):
    consent_id: int
    subject_id: str
    purpose: str
    text_version: str
    granted_at: str


class WithdrawalAnswer(Answer):
    subject_id: str
    purpose: str
    consents_withdrawn: int
    items_removed: int
    blobs_deleted: int


class SampleAnswer(Answer):
    item_id: int
    subject_id: str
    dataset: str
    expires_at: str


class SubjectDataAnswer(SubjectExport, Answer):
    """Everything held about the person or session (``?format=zip``: the same with the files)."""


class ErasureAnswer(ErasureReceipt, Answer):
    """The erasure receipt: what was removed, counted by kind."""
