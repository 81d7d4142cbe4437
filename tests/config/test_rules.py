"""Rules: validation, versioning with history, and isolation across apps."""

from __future__ import annotations

from typing import Any

import pytest


def test_create_read_update_with_history(tenant: Any) -> None:
    created = tenant.post("/v1/rules", {"name": "onboarding", "config": {"compare_threshold": 75}})
    assert created.status_code == 200, created.text
    rule = created.json()
    assert rule["version"] == 1 and rule["config"]["compare_threshold"] == 75
    rule_id = rule["rule_id"]

    updated = tenant.put(
        f"/v1/rules/{rule_id}",
        {
            "name": "onboarding",
            "config": {"compare_threshold": 80, "liveness": {"mode": "action", "actions": ["blink", "nod"]}},
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2

    fetched = tenant.get(f"/v1/rules/{rule_id}").json()
    assert fetched["config"]["liveness"] == {"mode": "action", "actions": ["blink", "nod"], "randomize_order": False}

    history = tenant.get(f"/v1/rules/{rule_id}/history").json()["changes"]
    assert [change["version"] for change in history] == [1, 2]
    assert history[0]["old"] is None
    assert history[1]["old"]["compare_threshold"] == 75
    assert history[1]["new"]["compare_threshold"] == 80
    assert history[1]["changed_by"] == tenant.secret_id


@pytest.mark.parametrize(
    "config",
    [
        {"compare_threshold": 101},
        {"compare_threshold": -1},
        {"liveness": {"mode": "action"}},
        {"liveness": {"mode": "action", "actions": ["blink", "blink"]}},
        {"liveness": {"mode": "action", "actions": ["blink", "nod", "shake"]}},
        {"liveness": {"mode": "silent", "actions": ["blink"]}},
        {"liveness": {"mode": "telepathy"}},
        {"retention": {"media_hours": 3}},
        {"retention": {"result_hours": 100}},
        {"security": {"ip_allow_list": ["not-an-ip"]}},
        {"webhook_url": "ftp://example.com"},
        {"language": "xx"},
        {"document_types": ["MARS_PASS"]},
        {"video": {"max_seconds": 7200}},
        {"surprise": True},
    ],
)
def test_invalid_rules_are_refused(tenant: Any, config: dict[str, Any]) -> None:
    response = tenant.post("/v1/rules", {"name": "bad", "config": config})
    assert response.status_code == 400
    assert response.json()["Error"]["Code"] == "InvalidParameterValue"


def test_duplicate_name_is_refused(tenant: Any) -> None:
    assert tenant.post("/v1/rules", {"name": "same"}).status_code == 200
    response = tenant.post("/v1/rules", {"name": "same"})
    assert response.status_code == 400
    assert response.json()["Error"]["Code"] == "InvalidParameterValue.RuleNameExists"


def test_another_apps_rule_is_not_found(make_tenant: Any) -> None:
    alice, bob = make_tenant("alice"), make_tenant("bob")
    rule_id = alice.post("/v1/rules", {"name": "private"}).json()["rule_id"]
    missing = bob.get("/v1/rules/rule-0000000000000000")
    foreign = bob.get(f"/v1/rules/{rule_id}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["Error"] == missing.json()["Error"]
    assert bob.put(f"/v1/rules/{rule_id}", {"name": "stolen"}).status_code == 404
    assert bob.get(f"/v1/rules/{rule_id}/history").status_code == 404
    assert alice.get(f"/v1/rules/{rule_id}").json()["name"] == "private"
