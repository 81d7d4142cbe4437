"""Call records by RequestId, scoped to the app, and Prometheus metrics."""

from __future__ import annotations

from typing import Any


def test_request_record_is_visible_to_its_app_only(make_tenant: Any) -> None:
    alice, bob = make_tenant("alice"), make_tenant("bob")
    failed = alice.get("/v1/rules/rule-missing")
    request_id = failed.json()["RequestId"]
    record = alice.get(f"/v1/requests/{request_id}")
    assert record.status_code == 200
    body = record.json()
    assert body["action"] == "DescribeRule"
    assert body["status_code"] == 404
    assert body["error_code"] == "ResourceNotFound.Rule"
    assert body["route"] == "/v1/rules/{rule_id}"
    assert bob.get(f"/v1/requests/{request_id}").status_code == 404


def test_metrics_count_requests(tenant: Any) -> None:
    tenant.get("/v1/account")
    tenant.get("/v1/rules/rule-missing")
    text = tenant.client.get("/metrics").text
    assert 'openkyc_requests_total{action="DescribeAccount",status="200"} 1.0' in text
    assert 'openkyc_errors_total{code="ResourceNotFound.Rule"} 1.0' in text
