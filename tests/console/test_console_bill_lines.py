"""Found trying the console as a new operator: the Bills page showed the month's total but "Nothing
yet." in its table, whatever was billed (it read ``items``; the bill's lines are ``lines``). The page
must list the same lines as ``GET /v1/bills/{month}``, from real billable calls."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from console_helpers import make_user, sign_in
from fastapi.testclient import TestClient


@pytest.fixture
def console(runtime: Any, settings: Any) -> Any:
    from openkyc.api.app import create_app

    with TestClient(create_app(settings, runtime), raise_server_exceptions=False) as client:
        yield client


def _cells(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    return [[re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


def test_the_bills_page_lists_the_lines_of_the_bill(runtime: Any, tenant: Any, console: Any, shared_data: Path) -> None:
    photo = base64.b64encode((shared_data / "facerec-examples/identities/obama/obama.jpg").read_bytes()).decode()
    collection = tenant.post("/v1/collections", {"name": "billed"}).json()["collection_id"]
    for i in range(2):
        enrolled = tenant.post(f"/v1/collections/{collection}/subjects", {"subject_id": f"s{i}", "image": photo})
        assert enrolled.status_code == 200, enrolled.text
    assert tenant.post("/v1/faces/detect", {"image": photo}).status_code == 200
    month = runtime.clock().strftime("%Y-%m")
    bill = tenant.get(f"/v1/bills/{month}").json()
    assert {line["action"]: line["billable_calls"] for line in bill["lines"]} == {"CreateSubject": 2, "DetectFace": 1}

    make_user(runtime, tenant.account_id, "bea", "billing")
    assert sign_in(console, "bea").status_code == 303
    page = console.get(f"/console/bills?month={month}&app={tenant.app_id}")
    assert page.status_code == 200, page.text[:300]
    assert "Nothing yet." not in page.text
    shown = [cells[:4] for cells in _cells(page.text) if cells]  # the last cell holds the row actions
    expected = [
        [line["action"], str(line["billable_calls"]), line["price_per_1000"], line["amount"]] for line in bill["lines"]
    ]
    assert sorted(shown) == sorted(expected)
    assert f"total {bill['total']} {bill['currency']}" in page.text
