"""Answers of health, account, call records, rules (verification templates), usage and bills."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from openkyc.api.schemas.common import Answer, Strict
from openkyc.config.rules import RuleConfig


class HealthAnswer(Answer):
    status: str
    database: str
    ready: bool = Field(description="Whether start-up has loaded the 1:N index and warmed every model set.")


class ReadinessAnswer(Answer):
    """HTTP 200 when ready, 503 (same fields) until start-up has finished."""

    ready: bool
    templates_in_index: int
    index_bytes: int


class AccountAnswer(Answer):
    account_id: int
    app_id: int
    app_name: str


class RequestRecordAnswer(Answer):
    """The redacted record of one call (``GET /v1/requests/{request_id}``)."""

    request_id: str
    action: str
    method: str
    route: str
    status_code: int
    error_code: str | None
    result_code: str | None
    billable: bool
    duration_ms: float
    client_ip: str | None
    secret_id: str | None
    created_at: str


class RuleAnswer(Answer):
    rule_id: str
    name: str
    version: int
    config: RuleConfig
    created_at: str
    updated_at: str


class RuleChange(Strict):
    version: int
    changed_by: str
    changed_at: str
    old: dict[str, Any] | None = Field(description="The configuration before (null for the first version).")
    new: dict[str, Any]


class RuleHistoryAnswer(Answer):
    rule_id: str
    changes: list[RuleChange]


class UsageItem(Strict):
    action: str
    result_code: str
    billable: bool
    calls: int


class UsageAnswer(Answer):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    items: list[UsageItem]
    total_calls: int
    billable_calls: int


class BillLine(Strict):
    action: str
    billable_calls: int
    price_per_1000: str = Field(description="Decimal, in the bill's currency.")
    amount: str


class BillAnswer(Answer):
    month: str
    app_id: int
    currency: str
    lines: list[BillLine]
    total: str
