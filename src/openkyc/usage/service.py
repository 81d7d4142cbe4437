"""Usage and bills from the call records: calls per action, result code and billable flag.

A call is billable when the action is a metered one and the call succeeded (2xx), whatever the
verification's result code: a failed liveness check was still performed. Prices are per 1,000
billable calls, from the account's price list (:mod:`openkyc.usage.prices`,
``OPENKYC_PRICE_LIST_FILE``), in its currency; self-hosted deployments use the bill to charge back
internal teams. A bill is JSON, or CSV (:func:`bill_csv`) for spreadsheets and accounting imports.
"""

from __future__ import annotations

import calendar
import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openkyc.errors import DateOutOfRange, InvalidParameterValue
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.guards import use
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.store.models.diagnostics import CallRecord
from openkyc.usage.prices import PriceList, built_in

MAX_RANGE = timedelta(days=366)
CALL_RECORD_ELEMENTS = (DataElement.CALL_RECORD, DataElement.OPERATION_STATUS, DataElement.ERROR)


def parse_day(value: str | None, default: date, field: str) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidParameterValue(f"{field} must be a date (YYYY-MM-DD).", code="InvalidParameterValue.Date") from exc


def usage(session: Session, app_id: int, start: date, end: date, *, gate: PurposeGate) -> dict[str, Any]:
    """Calls of the app from ``start`` to ``end`` (inclusive), grouped; the purpose is billing."""
    use(gate, Purpose.BILLING, CALL_RECORD_ELEMENTS, what="usage.call_records", app_id=app_id)
    if end < start or end - start > MAX_RANGE:
        raise InvalidParameterValue(
            "The range must run forwards and span at most 366 days.", code="InvalidParameterValue.DateRange"
        )
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    try:
        until = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    except OverflowError as exc:  # 9999-12-31: the day after cannot be represented
        raise DateOutOfRange("Dates must be before 9999-12-31.") from exc
    rows = session.execute(
        select(CallRecord.action, CallRecord.result_code, CallRecord.error_code, CallRecord.billable, func.count())
        .where(CallRecord.app_id == app_id, CallRecord.created_at >= since, CallRecord.created_at < until)
        .group_by(CallRecord.action, CallRecord.result_code, CallRecord.error_code, CallRecord.billable)
        .order_by(CallRecord.action)
    ).all()
    items = [
        {"action": action, "result_code": result or error or "Success", "billable": bool(billable), "calls": int(count)}
        for action, result, error, billable, count in rows
    ]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "items": items,
        "total_calls": sum(i["calls"] for i in items),
        "billable_calls": sum(i["calls"] for i in items if i["billable"]),
    }


def bill(
    session: Session, app_id: int, month: str, prices: PriceList | None = None, *, gate: PurposeGate
) -> dict[str, Any]:
    """The month's billable calls per action, priced from ``prices`` (default: the built-in list)."""
    prices = prices or built_in().default
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except (ValueError, OverflowError) as exc:
        raise InvalidParameterValue("The month must be YYYY-MM.", code="InvalidParameterValue.Month") from exc
    last = date(year, number, calendar.monthrange(year, number)[1])
    counted = usage(session, app_id, first, last, gate=gate)
    per_action: dict[str, int] = {}
    for item in counted["items"]:
        if item["billable"]:
            per_action[item["action"]] = per_action.get(item["action"], 0) + item["calls"]
    lines: list[dict[str, Any]] = []
    total = Decimal("0.00")
    for action, calls in sorted(per_action.items()):
        price = prices.price(action)
        amount = (price * calls / 1000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        total += amount
        lines.append({"action": action, "billable_calls": calls, "price_per_1000": str(price), "amount": str(amount)})
    return {
        "month": first.strftime("%Y-%m"),
        "app_id": app_id,
        "currency": prices.currency,
        "lines": lines,
        "total": str(total),
    }


CSV_COLUMNS = ("month", "app_id", "currency", "action", "billable_calls", "price_per_1000", "amount")


def bill_csv(document: dict[str, Any]) -> str:
    """The bill as CSV: a header, one row per action, and a ``TOTAL`` row (amount only)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    common = (document["month"], document["app_id"], document["currency"])
    for line in document["lines"]:
        writer.writerow((*common, line["action"], line["billable_calls"], line["price_per_1000"], line["amount"]))
    calls = sum(int(line["billable_calls"]) for line in document["lines"])
    writer.writerow((*common, "TOTAL", calls, "", document["total"]))
    return buffer.getvalue()
