"""Concurrent rule updates through the real app: no lost update, no duplicate version (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from openkyc.config import service
from openkyc.store.models.config import RuleChange

THREADS = 16


def test_concurrent_updates_get_distinct_contiguous_versions(tenant: Any, runtime: Any) -> None:
    created = tenant.post("/v1/rules", {"name": "raced", "config": {"compare_threshold": 50}})
    assert created.status_code == 200, created.text
    rule_id = created.json()["rule_id"]
    start = threading.Barrier(THREADS)

    def put(i: int) -> Any:
        start.wait()
        return tenant.put(f"/v1/rules/{rule_id}", {"name": "raced", "config": {"compare_threshold": 51 + i}})

    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(put, range(THREADS)))

    ok = [r for r in responses if r.status_code == 200]
    others = [r for r in responses if r.status_code != 200]
    for response in others:  # the only other answer allowed: the documented 409
        assert response.status_code == 409, response.text
        assert response.json()["Error"]["Code"] == "FailedOperation.ConcurrentUpdate"
    assert ok, [r.text for r in responses]
    assert sorted(r.json()["version"] for r in ok) == list(range(2, 2 + len(ok)))

    rule = tenant.get(f"/v1/rules/{rule_id}").json()
    assert rule["version"] == 1 + len(ok)
    changes = tenant.get(f"/v1/rules/{rule_id}/history").json()["changes"]
    assert [c["version"] for c in changes] == list(range(1, 2 + len(ok)))
    # each change replaced exactly what the one before it wrote: nothing was lost in between
    for before, after in itertools.pairwise(changes):
        assert after["old"] == before["new"]
    assert changes[-1]["new"] == rule["config"]
    written = sorted(c["new"]["compare_threshold"] for c in changes[1:])
    assert written == sorted(r.json()["config"]["compare_threshold"] for r in ok)

    with runtime.transaction() as session:
        versions = session.scalars(select(RuleChange.version).where(RuleChange.rule_id == rule_id)).all()
    assert sorted(versions) == list(range(1, 2 + len(ok)))


def test_a_version_cannot_be_recorded_twice(tenant: Any, runtime: Any) -> None:
    rule_id = tenant.post("/v1/rules", {"name": "once"}).json()["rule_id"]
    changes = tenant.get(f"/v1/rules/{rule_id}/history").json()["changes"]
    with pytest.raises(IntegrityError), runtime.transaction() as session:
        first = session.scalar(select(RuleChange).where(RuleChange.rule_id == rule_id))
        assert first is not None and changes[0]["version"] == first.version == 1
        session.add(
            RuleChange(
                rule_id=rule_id,
                version=1,
                changed_by="x",
                changed_at=first.changed_at,
                old_config=None,
                new_config={},
            )
        )


def test_update_that_keeps_losing_the_race_is_a_409(tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rule_id = tenant.post("/v1/rules", {"name": "busy"}).json()["rule_id"]
    monkeypatch.setattr(service, "_UPDATE_TRIES", 0)  # as if the rule moved at every try
    response = tenant.put(f"/v1/rules/{rule_id}", {"name": "busy", "config": {"compare_threshold": 60}})
    assert response.status_code == 409
    assert response.json()["Error"]["Code"] == "FailedOperation.ConcurrentUpdate"
    monkeypatch.undo()
    assert tenant.get(f"/v1/rules/{rule_id}").json()["version"] == 1


def test_rename_to_a_taken_name_is_refused_and_changes_nothing(tenant: Any) -> None:
    tenant.post("/v1/rules", {"name": "first"})
    rule_id = tenant.post("/v1/rules", {"name": "second"}).json()["rule_id"]
    response = tenant.put(f"/v1/rules/{rule_id}", {"name": "first", "config": {"compare_threshold": 60}})
    assert response.status_code == 400
    assert response.json()["Error"]["Code"] == "InvalidParameterValue.RuleNameExists"
    rule = tenant.get(f"/v1/rules/{rule_id}").json()
    assert (rule["name"], rule["version"]) == ("second", 1)
    renamed = tenant.put(f"/v1/rules/{rule_id}", {"name": "third", "config": {}})
    assert renamed.status_code == 200 and renamed.json()["name"] == "third" and renamed.json()["version"] == 2
