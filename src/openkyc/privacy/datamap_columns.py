"""How the data map (:mod:`openkyc.privacy.datamap`) describes a table: the policy elements each
column holds, the retention kinds that delete its rows, and the subject-rights step that exports
and erases them, with the label each exported column gets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from openkyc.privacy.vocabulary import DataCategory, DataElement, RetentionKind

E = DataElement
K = RetentionKind
NOT_PERSONAL: tuple[DataElement, ...] = ()


@dataclass(frozen=True)
class ColumnUse:
    """How a subject-rights export labels a column: its policy element, or (``element=None``) only
    its category, for a column holding several elements (a sealed JSON object, a blob file)."""

    element: DataElement | None
    category: DataCategory

    @classmethod
    def of(cls, item: DataElement | DataCategory) -> ColumnUse:
        if isinstance(item, DataElement):
            return cls(item, item.category)
        return cls(None, item)


@dataclass(frozen=True)
class TableMap:
    columns: dict[str, tuple[DataElement, ...]]
    retention: tuple[RetentionKind, ...] = ()
    note: str = ""  # why rows live as long as they do, where no retention kind applies
    reach: str | None = None  # the subject-rights step exporting and erasing the rows (None: ``note`` says why)
    exported: Mapping[str, ColumnUse] = field(default_factory=dict)  # columns exported per person, labelled

    def personal_columns(self) -> dict[str, tuple[DataElement, ...]]:
        return {name: elements for name, elements in self.columns.items() if elements}


# Labels the tables' declarations share
RECORD = ColumnUse.of(E.CONSENT_RECORD)
STATUS = ColumnUse.of(E.OPERATION_STATUS)
IDENTIFICATION = ColumnUse.of(DataCategory.IDENTIFICATION)
ACCOUNT_LIFETIME = "Account and configuration data: kept while the account (or app) exists."
