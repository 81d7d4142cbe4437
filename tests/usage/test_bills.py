"""Bills: the account's price list and currency (``OPENKYC_PRICE_LIST_FILE``), and CSV export."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openkyc.store.models.diagnostics import CallRecord
from openkyc.usage.prices import DEFAULT_PRICES, PriceListFileError, load, parse


def _calls(runtime: Any, app_id: int, action: str, count: int) -> None:
    with runtime.transaction() as session:
        for _ in range(count):
            session.add(
                CallRecord(
                    request_id=str(uuid.uuid4()),
                    app_id=app_id,
                    secret_id="AKID",
                    action=action,
                    method="POST",
                    route="/x",
                    status_code=200,
                    error_code=None,
                    result_code="Success",
                    billable=True,
                    duration_ms=1.0,
                    client_ip=None,
                    created_at=datetime(2026, 11, 10, 12, tzinfo=UTC),
                )
            )


def test_the_built_in_list_bills_in_its_currency(tenant: Any, runtime: Any) -> None:
    _calls(runtime, tenant.app_id, "CompareFace", 3)
    bill = tenant.get("/v1/bills/2026-11").json()
    assert bill["currency"] == "USD"
    assert bill["lines"] == [{"action": "CompareFace", "billable_calls": 3, "price_per_1000": "1.50", "amount": "0.00"}]


@pytest.fixture
def priced(settings: Any, tmp_path: Path, tenant: Any) -> Iterator[tuple[Any, Any, Any]]:
    """An app served with a price list file: one account in EUR, the others on the default list."""
    from openkyc.accounts import service as accounts
    from openkyc.api.app import create_app
    from openkyc.runtime import Runtime

    runtime = Runtime.open(settings, migrate=False)
    with runtime.transaction() as session:
        special = accounts.create_account(session, "special")
        plain = accounts.create_account(session, "plain")
    book = {
        "default": {"currency": "CHF", "prices": {"CompareFace": "2.00", "VerifySelfie": "5.00"}},
        "accounts": {str(special.id): {"currency": "CHF", "prices": {"CompareFace": "1.25"}}},
    }
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(book))
    priced_settings = settings.model_copy(update={"price_list_file": path})
    runtime.settings = priced_settings
    Tenant = type(tenant)  # the signing client of tests/conftest.py, for this app's own TestClient
    try:
        with TestClient(create_app(priced_settings, runtime), raise_server_exceptions=False) as client:
            made = []
            for account in (special, plain):
                with runtime.transaction() as session:
                    app = accounts.create_app(session, account.id, f"app-{account.id}")
                    issued = accounts.create_credential(session, runtime.keyring, app.id)
                made.append(Tenant(account.id, app.id, issued.secret_id, issued.secret_key, client))
            yield runtime, made[0], made[1]
    finally:
        runtime.close()


def test_each_account_is_billed_from_its_own_list(priced: tuple[Any, Any, Any]) -> None:
    runtime, special, plain = priced
    for tenant in (special, plain):
        _calls(runtime, tenant.app_id, "CompareFace", 2000)
        _calls(runtime, tenant.app_id, "VerifySelfie", 1000)
        _calls(runtime, tenant.app_id, "DetectFace", 1000)  # priced by neither list: 0, and shown so
    own = special.get("/v1/bills/2026-11").json()
    assert own["currency"] == "CHF"
    assert {line["action"]: (line["price_per_1000"], line["amount"]) for line in own["lines"]} == {
        "CompareFace": ("1.25", "2.50"),  # the account's own price
        "VerifySelfie": ("5.00", "5.00"),  # inherited from the default list (same currency)
        "DetectFace": ("0", "0.00"),
    }
    assert own["total"] == "7.50"
    other = plain.get("/v1/bills/2026-11").json()
    assert (other["currency"], other["total"]) == ("CHF", "9.00")


def test_bill_as_csv(priced: tuple[Any, Any, Any]) -> None:
    runtime, special, _ = priced
    _calls(runtime, special.app_id, "CompareFace", 2000)
    _calls(runtime, special.app_id, "VerifySelfie", 10)
    answer = special.get("/v1/bills/2026-11?format=csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == f'attachment; filename="bill-{special.app_id}-2026-11.csv"'
    assert answer.headers["x-request-id"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["action"], r["billable_calls"], r["price_per_1000"], r["amount"]) for r in rows] == [
        ("CompareFace", "2000", "1.25", "2.50"),
        ("VerifySelfie", "10", "5.00", "0.05"),
        ("TOTAL", "2010", "", "2.55"),
    ]
    assert {(r["month"], r["app_id"], r["currency"]) for r in rows} == {("2026-11", str(special.app_id), "CHF")}
    assert special.get("/v1/bills/2026-11?format=json").json()["total"] == "2.55"
    bad = special.get("/v1/bills/2026-11?format=pdf")
    assert bad.status_code == 400 and bad.json()["Error"]["Code"].startswith("InvalidParameter")


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"default": {"currency": "usd", "prices": {}}}, "currency"),
        ({"default": {"currency": "USD", "prices": {"Teleport": "1"}}}, "not metered"),
        ({"default": {"currency": "USD", "prices": {"CompareFace": "-1"}}}, "CompareFace"),
        (
            {"default": {"currency": "USD"}, "accounts": {"7": {"currency": "EUR", "prices": {"CompareFace": "1"}}}},
            "every metered",
        ),
        ({"accounts": {}}, "default"),
        ({"default": {"currency": "USD"}, "extra": 1}, "extra"),
    ],
)
def test_a_bad_price_list_is_refused(document: dict[str, Any], problem: str) -> None:
    with pytest.raises(PriceListFileError, match=problem):
        parse(document)


def test_an_account_in_another_currency_prices_everything(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    full = "\n".join(f"      {action}: '0.10'" for action in sorted(DEFAULT_PRICES))
    path.write_text(f"default:\n  currency: USD\naccounts:\n  '7':\n    currency: JPY\n    prices:\n{full}\n")
    book = load(path)
    assert book.for_account(7).currency == "JPY" and book.for_account(7).price("VerifyIdentity") == Decimal("0.10")
    assert book.for_account(8).currency == "USD" and book.for_account(8).price("VerifyIdentity") == Decimal(0)
    with pytest.raises(PriceListFileError):
        load(tmp_path / "missing.json")


def test_a_bad_price_list_stops_start_up(settings: Any, tmp_path: Path) -> None:
    from openkyc.api.app import create_app

    path = tmp_path / "prices.json"
    path.write_text('{"default": {"currency": "dollars"}}')
    with (
        pytest.raises(PriceListFileError),
        TestClient(create_app(settings.model_copy(update={"price_list_file": path}))),
    ):
        pass
