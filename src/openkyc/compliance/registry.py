"""The registry of subject-rights steps, and the tables that are deliberately out of their reach.

:data:`REGISTRY` is :data:`openkyc.privacy.reach.REACH` once :func:`steps` has imported every
context's ``reach`` module. Which step reaches which table and column is declared once, in the data
map (:data:`openkyc.privacy.datamap.TABLES`); :data:`NOT_REACHED` is derived from it (tables with
no step, each with the reason). :func:`schema_problems` walks the SQLAlchemy schema against the map
and the registered steps (``tests/privacy/test_datamap.py``, ``tests/compliance/test_registry.py``).
"""

from __future__ import annotations

import functools

from openkyc.privacy.datamap import not_reached
from openkyc.privacy.datamap import schema_problems as _schema_problems
from openkyc.privacy.reach import REACH, ReachRegistry, ReachStep

__all__ = ["NOT_REACHED", "REGISTRY", "schema_problems", "steps"]

REGISTRY: ReachRegistry = REACH

NOT_REACHED: dict[str, str] = not_reached()


@functools.cache
def _discovered() -> tuple[str, ...]:
    return tuple(REGISTRY.discover("openkyc"))


def steps() -> tuple[ReachStep, ...]:
    """Every registered step, after importing each context's ``reach`` modules (once per process)."""
    _discovered()
    return REGISTRY.steps


def schema_problems() -> list[str]:
    """The data map against the service's schema and its registered steps (empty: nothing missed)."""
    from openkyc.store.models import Base

    schema = {table.name: [column.name for column in table.columns] for table in Base.metadata.sorted_tables}
    return _schema_problems(schema, {step.name for step in steps()})
