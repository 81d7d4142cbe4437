"""Answers of the management API: apps, credentials, users, lists of rules, the audit log and
webhook deliveries (pages with ``next_cursor``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from openkyc.api.schemas.common import Answer, Page, Strict


class App(Strict):
    app_id: int
    name: str
    created_at: str
    disabled: bool
    disabled_at: str | None
    qps_limit: int | None
    monthly_quota: int | None


class AppAnswer(App, Answer):
    pass


class CreateAppAnswer(AppAnswer):
    secret_id: str
    secret_key: str = Field(description="Shown only in this answer.")


class AppsPage(Page):
    apps: list[App]


class Credential(Strict):
    secret_id: str
    app_id: int
    status: str
    created_at: str
    last_used_at: str | None
    disabled_at: str | None


class CredentialAnswer(Credential, Answer):
    pass


class CredentialsPage(Page):
    credentials: list[Credential]


class IssuedCredentialAnswer(Answer):
    app_id: int
    secret_id: str
    secret_key: str = Field(description="Shown only in this answer.")


class RotatedCredentialAnswer(IssuedCredentialAnswer):
    old_secret_id: str
    old_disabled: bool


class User(Strict):
    user_id: int
    user_name: str
    role: str
    disabled: bool
    locked: bool
    created_at: str
    last_login_at: str | None


class UsersPage(Page):
    users: list[User]


class RuleSummary(Strict):
    rule_id: str
    name: str
    version: int
    created_at: str
    updated_at: str


class RulesPage(Page):
    rules: list[RuleSummary]


class AuditRecord(Strict):
    seq: int
    created_at: str
    app_id: int | None
    actor: str
    event_type: str
    details: dict[str, Any] = Field(description="What happened, without personal data; differs by event_type.")
    hash: str


class AuditPage(Page):
    records: list[AuditRecord]


class Delivery(Strict):
    delivery_id: str
    app_id: int
    event: str
    url: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: str | None
    created_at: str
    delivered_at: str | None
    history: list[dict[str, Any]] = Field(description="Each attempt: when, status or error.")


class DeliveryAnswer(Delivery, Answer):
    pass


class DeliveriesPage(Page):
    deliveries: list[Delivery]
