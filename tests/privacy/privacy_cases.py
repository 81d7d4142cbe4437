"""Shared parametrize tables for the privacy tests."""

from __future__ import annotations

from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose

P = Purpose
# DESIGN.md section 1, verbatim: category -> the purposes it may be used for.
DESIGN_TABLE: dict[DataCategory, set[Purpose]] = {
    DataCategory.ACCOUNT: {P.PROVIDE_FEATURES, P.MAINTAIN_CONFIGURATION, P.TROUBLESHOOTING, P.BILLING},
    DataCategory.CONFIGURATION: {
        P.PROVIDE_FEATURES,
        P.MAINTAIN_CONFIGURATION,
        P.TROUBLESHOOTING,
        P.MODEL_IMPROVEMENT,
    },
    DataCategory.DIAGNOSTIC_USAGE: {P.PROVIDE_FEATURES, P.TROUBLESHOOTING, P.BILLING, P.MODEL_IMPROVEMENT},
    DataCategory.FACE_FEATURES: {P.PROVIDE_FEATURES, P.TROUBLESHOOTING, P.MODEL_IMPROVEMENT},
    DataCategory.IDENTIFICATION: {P.PROVIDE_FEATURES, P.TROUBLESHOOTING, P.MODEL_IMPROVEMENT},
}
SENSITIVE = {
    DataElement.FACE_IMAGE,
    DataElement.FACE_VIDEO,
    DataElement.DOCUMENT_IMAGE,
    DataElement.ID_NUMBER,
    DataElement.OPTIONAL_DATA,  # a document's optional data may carry a personal (ID) number
    DataElement.TEMPLATE,
    DataElement.KEYPOINTS,
}
CASES = [(c, p, p in DESIGN_TABLE[c]) for c in DataCategory for p in Purpose]
