"""The operations of the service and the account: health, the account and its requests, rules,
privacy (consents, subject rights, the record of processing), usage and bills, and the
Tencent-compatible endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from openkyc.client._operations_base import Json, OperationsBase, R, T
from openkyc.client._operations_base import body as _body
from openkyc.client._operations_base import path_part as _p


class AccountOperations(OperationsBase[T, R]):
    """The service, the account, rules, privacy, usage and the Tencent-compatible endpoint."""

    # --- service and account ------------------------------------------------------------------
    def health(self) -> T:
        return self._call("GET", "/v1/health")

    def describe_account(self) -> T:
        return self._call("GET", "/v1/account")

    def describe_request(self, request_id: str) -> T:
        return self._call("GET", f"/v1/requests/{_p(request_id)}")

    def readiness(self) -> T:
        return self._call("GET", "/v1/health/ready")

    # --- rules ------------------------------------------------------------------------------
    def create_rule(self, name: str, config: Json | None = None, *, idempotency_key: str | None = None) -> T:
        return self._call("POST", "/v1/rules", _body(name=name, config=config), idempotency_key=idempotency_key)

    def describe_rule(self, rule_id: str) -> T:
        return self._call("GET", f"/v1/rules/{_p(rule_id)}")

    def modify_rule(
        self, rule_id: str, name: str, config: Json | None = None, *, idempotency_key: str | None = None
    ) -> T:
        body = _body(name=name, config=config)
        return self._call("PUT", f"/v1/rules/{_p(rule_id)}", body, idempotency_key=idempotency_key)

    def describe_rule_history(self, rule_id: str) -> T:
        return self._call("GET", f"/v1/rules/{_p(rule_id)}/history")

    # --- privacy ------------------------------------------------------------------------------
    def record_consent(self, subject_id: str, text_version: str, purpose: str | None = None) -> T:
        body = _body(subject_id=subject_id, purpose=purpose, text_version=text_version)
        return self._call("POST", "/v1/privacy/consents", body)

    def withdraw_consent(self, subject_id: str, purpose: str | None = None) -> T:
        return self._call("POST", "/v1/privacy/consents/withdraw", _body(subject_id=subject_id, purpose=purpose))

    def add_improvement_sample(self, subject_id: str, image: str, dataset: str | None = None) -> T:
        body = _body(subject_id=subject_id, image=image, dataset=dataset)
        return self._call("POST", "/v1/improvement/samples", body)

    def describe_subject_data(
        self, subject_id: str, biz_token: Sequence[str] | None = None, format: Literal["json"] = "json"
    ) -> T:
        """Everything held about the subject (JSON; ``download_subject_data`` for the ZIP archive)."""
        query: dict[str, Any] = {"format": format, "biz_token": list(biz_token) if biz_token else None}
        return self._call("GET", f"/v1/privacy/subjects/{_p(subject_id)}", query=query)

    def download_subject_data(self, subject_id: str, biz_token: Sequence[str] | None = None) -> R:
        """The subject's export as a ZIP archive (bytes)."""
        query = {"biz_token": list(biz_token)} if biz_token else None
        return self._call_raw("GET", f"/v1/privacy/subjects/{_p(subject_id)}/export.zip", query=query)

    def erase_subject(self, subject_id: str, biz_tokens: Sequence[str] | None = None) -> T:
        body = {"biz_tokens": list(biz_tokens)} if biz_tokens else None
        return self._call("POST", f"/v1/privacy/subjects/{_p(subject_id)}/erase", body)

    def describe_session_data(self, biz_token: str, format: Literal["json"] = "json") -> T:
        return self._call("GET", f"/v1/privacy/sessions/{_p(biz_token)}", query={"format": format})

    def erase_session_data(self, biz_token: str) -> T:
        return self._call("POST", f"/v1/privacy/sessions/{_p(biz_token)}/erase")

    def describe_record_of_processing(self, format: Literal["json"] = "json") -> T:
        """The record of processing as JSON (``download_record_of_processing`` for Markdown or HTML)."""
        return self._call("GET", "/v1/privacy/ropa", query={"format": format})

    def download_record_of_processing(self, format: Literal["md", "html"] = "md") -> R:
        return self._call_raw("GET", "/v1/privacy/ropa", query={"format": format})

    # --- usage --------------------------------------------------------------------------------
    def describe_usage(self, from_: str | None = None, to: str | None = None) -> T:
        """Calls per action between ``from_`` and ``to`` (ISO dates; sent as ``from`` and ``to``)."""
        return self._call("GET", "/v1/usage", query={"from": from_, "to": to})

    def describe_bill(self, month: str, format: Literal["json"] = "json") -> T:
        """The month's bill (``YYYY-MM``) as JSON (``download_bill`` for CSV)."""
        return self._call("GET", f"/v1/bills/{_p(month)}", query={"format": format})

    def download_bill(self, month: str, format: Literal["csv"] = "csv") -> R:
        return self._call_raw("GET", f"/v1/bills/{_p(month)}", query={"format": format})

    # --- Tencent-compatible endpoint ----------------------------------------------------------
    def tencent_action(self, action: str, params: Json, *, service: Literal["faceid", "ocr"] = "faceid") -> T:
        """A Tencent Cloud compatible action at ``POST /`` (answer: the ``Response`` object)."""
        version = "2018-11-19" if service == "ocr" else "2018-03-01"
        headers = {"X-TC-Action": action, "X-TC-Version": version}
        return self._call("POST", "/", params, headers=headers, service=service)
