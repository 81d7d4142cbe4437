"""Where each element of the policy is stored, and who exports and erases it: the one schema walk.

:data:`TABLES` is the single declaration of every column of every table: which policy elements it
holds (``()``: not personal data — ids, times, flags, hashes, key material), which retention kinds
delete its rows, which subject-rights step (:mod:`openkyc.privacy.reach`) exports and erases them
(``reach``), and how that step labels each column it exports per person (``exported``). The steps
take their ``covers`` and ``plain`` columns from here (:func:`covers_of`, :func:`plain_of`), so a
new column is classified once. :func:`schema_problems` walks a schema against it: a table or column
not classified here, a table whose step is not registered, or a column of a person's data that no
step exports, is a problem (``tests/privacy/test_datamap.py`` fails on each).
:data:`SEALED_FIELDS` names the elements inside sealed (encrypted JSON) columns, field by field;
blob *files* (images, videos, document images) are described by :data:`BLOB_FILES`.

The declarations live per context: :mod:`~openkyc.privacy.datamap_accounts` (account and
configuration), :mod:`~openkyc.privacy.datamap_end_users` (the end users' data) and
:mod:`~openkyc.privacy.datamap_records` (records of the processing); this module joins them and
walks a schema against them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from openkyc.privacy.datamap_accounts import ACCOUNT_TABLES
from openkyc.privacy.datamap_columns import ColumnUse, TableMap
from openkyc.privacy.datamap_end_users import BLOB_FILES, END_USER_TABLES, SEALED_FIELDS
from openkyc.privacy.datamap_records import ANSWER_ELEMENTS, RECORD_TABLES
from openkyc.privacy.vocabulary import DataCategory, DataElement

__all__ = [
    "ANSWER_ELEMENTS",
    "BLOB_FILES",
    "SEALED_FIELDS",
    "TABLES",
    "ColumnUse",
    "TableMap",
    "covers_of",
    "elements_stored",
    "not_reached",
    "plain_of",
    "schema_problems",
]

E = DataElement
# A person's own data: exported to them and erased per person (staff: their user row).
_PERSON_CATEGORIES = {DataCategory.IDENTIFICATION, DataCategory.FACE_FEATURES}
_PERSON_ELEMENTS = {E.CONNECTIVITY, E.USER_ID, E.USER_NAME, E.PASSWORD_HASH}

# Every table, once (a name declared twice would be a mistake: the test of the map checks the sum)
TABLES: dict[str, TableMap] = {**ACCOUNT_TABLES, **END_USER_TABLES, **RECORD_TABLES}


def elements_stored() -> frozenset[DataElement]:
    """Every element some column, sealed field or blob file holds."""
    found = {e for table in TABLES.values() for elements in table.columns.values() for e in elements}
    found |= {e for fields in SEALED_FIELDS.values() for e in fields.values()}
    found |= set(BLOB_FILES.values())
    return frozenset(found)


def covers_of(step: str) -> dict[str, dict[str, ColumnUse]]:
    """The columns ``step`` exports per person, by table (its ``covers``)."""
    return {table: dict(spec.exported) for table, spec in TABLES.items() if spec.reach == step}


def plain_of(step: str) -> dict[str, tuple[str, ...]]:
    """The other columns of ``step``'s tables (ids, times, account data erased with the account)."""
    return {
        table: tuple(c for c in spec.columns if c not in spec.exported)
        for table, spec in TABLES.items()
        if spec.reach == step
    }


def not_reached() -> dict[str, str]:
    """Tables no subject-rights step reaches, each with the reason (its note)."""
    return {table: spec.note for table, spec in TABLES.items() if spec.reach is None}


def _of_a_person(elements: Iterable[DataElement]) -> bool:
    return any(e.category in _PERSON_CATEGORIES or e in _PERSON_ELEMENTS for e in elements)


def schema_problems(
    schema: Mapping[str, Iterable[str]], steps: Collection[str], tables: Mapping[str, TableMap] | None = None
) -> list[str]:
    """What is wrong with ``tables`` (default :data:`TABLES`) against ``schema`` (table -> column
    names) and the registered subject-rights ``steps`` (their names); empty when nothing is.

    A table or column the map does not classify; a classified one the schema lacks; a table whose
    step is not registered, or that no step reaches without a reason; a column of a person's own
    data (identification, face features, client address, a staff user's id, name or password
    hash) that its step does not export; an exported column that holds no personal data.
    """
    tables = TABLES if tables is None else tables
    problems = []
    for table, names in sorted(schema.items()):
        columns = list(names)
        spec = tables.get(table)
        if spec is None:
            problems.append(f"{table}: table not classified by the data map (openkyc.privacy.datamap.TABLES)")
            continue
        for column in columns:
            if column not in spec.columns:
                problems.append(f"{table}.{column}: column not classified (name the policy elements it holds, or ())")
        problems += [f"{table}.{c}: classified but not in the schema" for c in spec.columns if c not in columns]
        if spec.reach is None:
            if not spec.note:
                problems.append(f"{table}: no subject-rights step reaches it and no note says why")
            continue
        if spec.reach not in steps:
            problems.append(f"{table}: its export/erase step {spec.reach!r} is not registered")
        for column, elements in spec.columns.items():
            if _of_a_person(elements) and column not in spec.exported:
                problems.append(f"{table}.{column}: a person's data that no step exports and erases")
        for column in spec.exported:
            if not spec.columns.get(column):
                problems.append(f"{table}.{column}: exported, but classified as holding no personal data")
    problems += [f"{table}: classified but not in the schema" for table in tables if table not in schema]
    return problems
