"""The registry of subject-rights steps against the schema and the policy: nothing personal is missed."""

from __future__ import annotations

import re

import pytest

from openkyc.biometrics.reach import IDENTIFICATION_ELEMENTS
from openkyc.compliance.registry import NOT_REACHED, REGISTRY, schema_problems, steps
from openkyc.privacy.datamap import SEALED_FIELDS
from openkyc.privacy.policy import load_policy
from openkyc.privacy.vocabulary import DataElement
from openkyc.store.models import Base

# names that say "personal data": such a column must be covered, never declared plain
PERSONAL_NAMES = re.compile(
    r"(subject_id|biz_token|client_ip|user_name|password|_enc$|^template$|blob_id|blob_ref|extra)"
)
# policy elements no table stores (computed and dropped within a call), with the reason
NOT_STORED = {
    DataElement.KEYPOINTS: "computed per call, never stored",
    DataElement.PERFORMANCE: "call durations are in call records (not personal: no address, no subject)",
    DataElement.ERROR: "error codes in call records (not personal)",
    DataElement.CALL_RECORD: "the call record itself; its personal part is the address (connectivity)",
    DataElement.ACCOUNT_ID: "the customer's account, erased by offboarding (accounts.account)",
    DataElement.APP_ID: "the customer's app, erased by offboarding (accounts.account)",
    DataElement.RESOURCE_NAME: "names of rules and collections, erased by offboarding",
    DataElement.RESOURCE_ATTRIBUTES: "configuration, erased by offboarding",
    DataElement.RULE: "configuration, erased by offboarding",
    DataElement.SERVICE_SETTINGS: "configuration, erased by offboarding",
    DataElement.SECURITY_SETTINGS: "configuration, erased by offboarding",
    DataElement.FACE_VIDEO: "stored only as blobs of kind 'video' (blob step, by kind)",
    DataElement.DOCUMENT_IMAGE: "stored only as blobs of kind 'document_image' (blob step, by kind)",
}


@pytest.fixture(scope="module")
def registered() -> None:
    steps()


def test_the_one_schema_walk_finds_nothing_missed(registered: None) -> None:
    """Tables and columns are classified once, in the data map (openkyc.privacy.datamap.TABLES); the
    walk against the schema and the registered steps is tests/privacy/test_datamap.py's, run here too."""
    assert schema_problems() == []
    assert set(NOT_REACHED) == {"erasure_receipts", "data_keys", "audit_keys", "seen_signatures"}


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_personal_looking_columns_are_exported(registered: None, table: str) -> None:
    if table in NOT_REACHED:
        return
    covered = REGISTRY.covered().get(table, {})
    plain = REGISTRY.plain().get(table, set())
    disguised = {c for c in plain if PERSONAL_NAMES.search(c) and c not in covered}
    allowed = {"secret_enc", "secret_key_enc"}  # keys, not personal data
    assert disguised - allowed == set(), f"{table}: personal-looking columns declared plain"


def test_every_stored_policy_element_is_covered(registered: None) -> None:
    policy = load_policy()
    covered = {use.element for columns in REGISTRY.covered().values() for use in columns.values()}
    columns = {f"{t}.{c}" for t, cols in REGISTRY.covered().items() for c in cols}
    if "subjects.identification_enc" in columns:
        covered |= set(IDENTIFICATION_ELEMENTS.values())  # the sealed fields, each mapped to its element
    for sealed, fields in SEALED_FIELDS.items():  # fields inside a sealed column that a step covers
        if sealed in columns:
            covered |= set(fields.values())
    for element in DataElement:
        assert element in covered or element in NOT_STORED, f"{element.value}: stored where? no step covers it"
    assert policy.categories  # the elements above are the policy's own vocabulary


def test_each_step_exports_and_erases(registered: None) -> None:
    names = [step.name for step in REGISTRY.steps]
    assert len(names) == len(set(names)) >= 8
    for step in REGISTRY.steps:
        assert callable(step.export) and callable(step.erase)
    assert REGISTRY.steps[-1].name == "accounts.account"  # cascades last
