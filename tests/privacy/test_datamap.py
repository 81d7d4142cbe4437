"""The policy names every stored field, every retention kind has a sweep step, the rationale is in docs/.

The tables below are generated from ``policy.yaml`` and from the schema itself, so adding a retention
kind without a step, a column without naming it in the data map (the one schema walk), a column of a
person's data that no subject-rights step exports and erases, or a document field without an
element makes a test fail.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml

from openkyc.biometrics.repository import IDENTIFICATION_FIELDS
from openkyc.compliance.registry import REGISTRY as REACH_REGISTRY
from openkyc.compliance.registry import schema_problems, steps
from openkyc.documents import templates as card_templates
from openkyc.documents.mrz import parse_mrz
from openkyc.privacy.datamap import BLOB_FILES, SEALED_FIELDS, TABLES, TableMap, covers_of, elements_stored, plain_of
from openkyc.privacy.datamap import schema_problems as datamap_problems
from openkyc.privacy.datamap_accounts import ACCOUNT_TABLES
from openkyc.privacy.datamap_end_users import END_USER_TABLES
from openkyc.privacy.datamap_records import RECORD_TABLES
from openkyc.privacy.policy import Policy
from openkyc.privacy.steps import REGISTRY
from openkyc.privacy.sweep import STEPS
from openkyc.privacy.vocabulary import DataCategory, DataElement, RetentionKind
from openkyc.store.models import Base

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = ROOT / "src" / "openkyc" / "privacy" / "policy.yaml"
POLICY_DATA = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
POLICY_KINDS = sorted(POLICY_DATA["retention"])
END_USER_CATEGORIES = {DataCategory.IDENTIFICATION, DataCategory.FACE_FEATURES}
TRANSIENT = {DataElement.KEYPOINTS}  # computed and used within a call, never stored
COLUMNS = sorted((table.name, column.name) for table in Base.metadata.sorted_tables for column in table.columns)
STEP_NAMES = {step.name for step in steps()}


@pytest.mark.parametrize("kind", POLICY_KINDS)
def test_every_retention_kind_of_the_policy_has_a_sweep_step(kind: str) -> None:
    steps = REGISTRY.for_kind(RetentionKind(kind))
    assert steps, f"retention kind {kind!r} of policy.yaml has no registered sweep step"
    assert {name for name, _ in STEPS} >= {s.name for s in steps}


def test_steps_are_contributed_by_the_owning_contexts() -> None:
    owners = {kind: {s.owner for s in REGISTRY.for_kind(kind)} for kind in RetentionKind}
    assert owners[RetentionKind.FACE_TEMPLATE] == {"openkyc.biometrics.retention"}
    assert owners[RetentionKind.ENROLMENT_IDENTIFICATION] == {"openkyc.biometrics.retention"}
    assert owners[RetentionKind.VERIFICATION_SESSION] == {"openkyc.verification.retention"}
    assert owners[RetentionKind.REQUEST_LOG] == {"openkyc.diagnostics.retention"}
    assert owners[RetentionKind.WEBHOOK_DELIVERY] == {"openkyc.jobs.retention"}
    assert len({name for name, _ in STEPS}) == len(STEPS)


def test_a_step_name_cannot_be_taken_twice() -> None:
    def other(ctx: object) -> int:
        return 0

    with pytest.raises(ValueError, match="already registered"):
        REGISTRY.add(RetentionKind.CALL_RECORD, "call_records", other)  # type: ignore[arg-type]


def test_one_walk_of_the_schema_finds_every_column_classified_and_reached() -> None:
    """The one schema walk: every column classified by the data map, every person's column exported
    and erased by a registered subject-rights step (openkyc.compliance.registry.schema_problems)."""
    assert schema_problems() == []


def _schema() -> dict[str, list[str]]:
    return {table: [c for _, c in cols] for table, cols in itertools.groupby(COLUMNS, key=lambda tc: tc[0])}


def test_each_table_is_declared_once_in_one_context() -> None:
    """The declarations are split by context and joined into TABLES: a table declared in two of them
    would silently take the later declaration."""
    declared = [*ACCOUNT_TABLES, *END_USER_TABLES, *RECORD_TABLES]
    assert len(declared) == len(set(declared)) == len(TABLES)
    assert set(declared) == {table.name for table in Base.metadata.sorted_tables}


def test_the_walk_fails_for_an_unclassified_column() -> None:
    schema = _schema()
    schema["subjects"].append("nickname")  # a new column in a model, not named in the data map
    schema["pets"] = ["id", "owner_subject_id"]  # a new table
    problems = datamap_problems(schema, STEP_NAMES)
    assert "subjects.nickname: column not classified (name the policy elements it holds, or ())" in problems
    assert "pets: table not classified by the data map (openkyc.privacy.datamap.TABLES)" in problems
    assert len(problems) == 2


def test_the_walk_fails_for_a_column_no_step_exports_or_erases() -> None:
    schema = _schema()
    schema["subjects"].append("nickname")
    subjects = TABLES["subjects"]
    tables = dict(TABLES)
    tables["subjects"] = replace(subjects, columns={**subjects.columns, "nickname": (DataElement.NAME,)})
    assert datamap_problems(schema, STEP_NAMES, tables) == [
        "subjects.nickname: a person's data that no step exports and erases"
    ]
    schema["pets"] = ["id", "owner"]
    tables["pets"] = TableMap({"id": (), "owner": (DataElement.SUBJECT_ID,)}, reach="pets.owners")
    assert "pets: its export/erase step 'pets.owners' is not registered" in datamap_problems(schema, STEP_NAMES, tables)
    tables["pets"] = TableMap({"id": (), "owner": (DataElement.SUBJECT_ID,)})  # no step and no reason
    assert "pets: no subject-rights step reaches it and no note says why" in datamap_problems(
        schema, STEP_NAMES, tables
    )


def test_steps_take_their_columns_from_the_data_map() -> None:
    for step in REACH_REGISTRY.steps:
        assert dict(step.covers) == covers_of(step.name) and dict(step.plain) == plain_of(step.name)
    reached = {spec.reach for spec in TABLES.values() if spec.reach is not None}
    assert reached == STEP_NAMES  # every step owns a table of the map, every named step exists


def test_every_stored_element_is_named_by_the_policy(policy: Policy) -> None:
    named = {
        f"{category}.{element}" for category, spec in POLICY_DATA["categories"].items() for element in spec["elements"]
    }
    stored = {e.value for e in elements_stored()}
    assert stored <= named
    assert {e.value for e in DataElement} - stored - {e.value for e in TRANSIENT} == set()  # nothing named in vain


def test_stored_end_user_data_has_a_retention_period() -> None:
    covered = {element for spec in POLICY_DATA["retention"].values() for element in spec["elements"]}
    for table, spec in TABLES.items():
        for column, elements in spec.personal_columns().items():
            for element in elements:
                if element.category in END_USER_CATEGORIES or element is DataElement.CONNECTIVITY:
                    assert element.value in covered, f"{table}.{column}: {element.value} has no retention kind"
        end_user = any(e.category in END_USER_CATEGORIES for es in spec.columns.values() for e in es)
        if end_user:
            assert spec.retention or spec.note, f"{table} holds end-user data but names no retention"
        for kind in spec.retention:
            assert REGISTRY.for_kind(kind), f"{table}: {kind.value} has no step"


def test_sealed_enrolment_fields_are_named() -> None:
    assert set(IDENTIFICATION_FIELDS) <= set(SEALED_FIELDS["subjects.identification_enc"])


def test_document_fields_are_named() -> None:
    td3 = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ]
    fields = set(parse_mrz(td3, today=date(2010, 1, 1)).fields)
    assert {"sex", "expiry_date", "optional_data", "document_code"} <= fields
    names = set(SEALED_FIELDS["verification_results.identification_enc"])
    assert fields <= names
    for template in card_templates.TEMPLATES:
        for rule in template.fields:
            assert rule.name in names
            if "date" in rule.validators:  # the date validator derives "<name>_iso"
                assert f"{rule.name}_iso" in names
    source = (ROOT / "src/openkyc/documents/validators.py").read_text(encoding="utf-8")
    derived = {
        key for body in re.findall(r"Validation\([^{]*\{([^}]*)\}", source) for key in re.findall(r'"(\w+)":', body)
    }
    assert {"birth_date", "sex", "iso"} <= derived  # the scan still sees the validators' derived fields
    assert derived - {"iso"} <= names


def test_every_element_inside_sealed_columns_is_declared_on_the_column() -> None:
    for key, fields in SEALED_FIELDS.items():
        table, column = key.split(".")
        assert set(fields.values()) <= set(TABLES[table].columns[column])


def test_blob_kinds_are_named() -> None:
    from openkyc.privacy.sweep import BLOB_RETENTION

    assert set(BLOB_RETENTION) == set(BLOB_FILES)


def test_the_policy_cites_a_rationale_that_is_in_the_repository() -> None:
    text = POLICY_FILE.read_text(encoding="utf-8")
    assert "DESIGN.md" not in text
    cited = re.findall(r"docs/[\w./-]+\.md", text)
    assert cited, "policy.yaml cites no rationale under docs/"
    for path in cited:
        assert (ROOT / path).is_file(), f"policy.yaml cites {path}, which is not in the repository"
    rationale = (ROOT / "docs" / "policy-rationale.md").read_text(encoding="utf-8")
    for kind in POLICY_KINDS:
        assert f"`{kind}`" in rationale, f"docs/policy-rationale.md does not explain {kind}"
