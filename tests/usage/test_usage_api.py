"""Usage per action and result code, and the monthly bill, from the call records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from openkyc.store.models.diagnostics import CallRecord


def _record(
    app_id: int,
    action: str,
    *,
    status: int = 200,
    result: str | None = None,
    billable: bool = True,
    when: datetime | None = None,
) -> CallRecord:
    return CallRecord(
        request_id=str(uuid.uuid4()),
        app_id=app_id,
        secret_id="AKID",
        action=action,
        method="POST",
        route="/x",
        status_code=status,
        error_code=None,
        result_code=result,
        billable=billable and status < 400,
        duration_ms=1.0,
        client_ip=None,
        created_at=when or datetime(2026, 11, 10, 12, tzinfo=UTC),
    )


def test_usage_and_bill(make_tenant: Any, runtime: Any) -> None:
    alice, bob = make_tenant("alice"), make_tenant("bob")
    with runtime.transaction() as session:
        for _ in range(3):
            session.add(_record(alice.app_id, "VerifySelfie", result="Success"))
        session.add(_record(alice.app_id, "VerifySelfie", result="FailedOperation.LivessDetectFail"))
        session.add(_record(alice.app_id, "CompareFace", status=400, billable=False))
        session.add(_record(alice.app_id, "CompareFace", when=datetime(2026, 10, 31, 23, tzinfo=UTC)))
        session.add(_record(bob.app_id, "VerifyIdentity"))
    used = alice.get("/v1/usage?from=2026-11-01&to=2026-11-30").json()
    assert used["total_calls"] == 5 and used["billable_calls"] == 4
    selfie = {(i["result_code"], i["calls"]) for i in used["items"] if i["action"] == "VerifySelfie"}
    assert selfie == {("Success", 3), ("FailedOperation.LivessDetectFail", 1)}
    bill = alice.get("/v1/bills/2026-11").json()
    assert bill["lines"] == [
        {"action": "VerifySelfie", "billable_calls": 4, "price_per_1000": "4.00", "amount": "0.02"}
    ]
    assert bill["total"] == "0.02"
    assert alice.get("/v1/bills/2026-10").json()["lines"][0]["action"] == "CompareFace"


def test_real_calls_are_metered(tenant: Any) -> None:
    tenant.post("/v1/rules", {"name": "r"})
    tenant.get("/v1/rules/rule-missing")
    today = datetime.now(UTC).date().isoformat()
    used = tenant.get(f"/v1/usage?from={today}&to={today}").json()
    actions = {(i["action"], i["result_code"], i["billable"]) for i in used["items"]}
    assert ("CreateRule", "Success", False) in actions
    assert ("DescribeRule", "ResourceNotFound.Rule", False) in actions


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/usage?from=2026-13-01", "InvalidParameterValue.Date"),
        ("/v1/usage?from=2026-11-30&to=2026-11-01", "InvalidParameterValue.DateRange"),
        ("/v1/usage?from=2020-01-01&to=2026-01-01", "InvalidParameterValue.DateRange"),
        ("/v1/bills/2026-13", "InvalidParameterValue.Month"),
        ("/v1/bills/november", "InvalidParameterValue.Month"),
    ],
)
def test_bad_ranges(tenant: Any, path: str, code: str) -> None:
    response = tenant.get(path)
    assert response.status_code == 400 and response.json()["Error"]["Code"] == code
