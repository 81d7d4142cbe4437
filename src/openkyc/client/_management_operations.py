"""The management operations (operators): apps, credentials, users, rules, collections and their
subjects, verifications, sessions, the audit log and webhook deliveries."""

from __future__ import annotations

from typing import Literal

from openkyc.client._operations_base import OperationsBase, R, T
from openkyc.client._operations_base import body as _body
from openkyc.client._operations_base import path_part as _p


class ManagementOperations(OperationsBase[T, R]):
    """The operators' paged lists and administrative changes."""

    # --- management (operators) ---------------------------------------------------------------
    # Lists answer newest first with ``next_cursor`` (``None`` on the last page): pass it as ``cursor``.
    def list_apps(self, limit: int | None = None, cursor: str | None = None, disabled: bool | None = None) -> T:
        flag = None if disabled is None else ("true" if disabled else "false")
        return self._call("GET", "/v1/apps", query={"limit": limit, "cursor": cursor, "disabled": flag})

    def create_app(self, name: str) -> T:
        """A new app of the account and its first credential (``secret_key`` shown this once)."""
        return self._call("POST", "/v1/apps", {"name": name})

    def disable_app(self, app_id: int) -> T:
        return self._call("POST", f"/v1/apps/{int(app_id)}/disable")

    def enable_app(self, app_id: int) -> T:
        return self._call("POST", f"/v1/apps/{int(app_id)}/enable")

    def list_credentials(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        status: Literal["active", "disabled"] | None = None,
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "status": status}
        return self._call("GET", "/v1/credentials", query=query)

    def create_credential(self, app_id: int | None = None) -> T:
        return self._call("POST", "/v1/credentials", _body(app_id=app_id))

    def rotate_credential(self, secret_id: str, keep_old: bool | None = None) -> T:
        """A new credential (``secret_key`` shown once); the old one disabled unless ``keep_old``."""
        return self._call("POST", f"/v1/credentials/{_p(secret_id)}/rotate", _body(keep_old=keep_old))

    def disable_credential(self, secret_id: str) -> T:
        return self._call("POST", f"/v1/credentials/{_p(secret_id)}/disable")

    def list_users(self, limit: int | None = None, cursor: str | None = None, role: str | None = None) -> T:
        return self._call("GET", "/v1/users", query={"limit": limit, "cursor": cursor, "role": role})

    def list_rules(
        self, app_id: int | None = None, limit: int | None = None, cursor: str | None = None, name: str | None = None
    ) -> T:
        return self._call("GET", "/v1/rules", query={"app_id": app_id, "limit": limit, "cursor": cursor, "name": name})

    def list_collections(
        self, app_id: int | None = None, limit: int | None = None, cursor: str | None = None, name: str | None = None
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "name": name}
        return self._call("GET", "/v1/collections", query=query)

    def delete_collection(self, collection_id: str) -> T:
        return self._call("DELETE", f"/v1/collections/{_p(collection_id)}")

    def list_subjects(self, collection_id: str, limit: int | None = None, cursor: str | None = None) -> T:
        path = f"/v1/collections/{_p(collection_id)}/subjects"
        return self._call("GET", path, query={"limit": limit, "cursor": cursor})

    def replace_subject_photo(
        self,
        collection_id: str,
        subject_id: str,
        image: str,
        retain_image: bool | None = None,
        rule_id: str | None = None,
    ) -> T:
        path = f"/v1/collections/{_p(collection_id)}/subjects/{_p(subject_id)}/photo"
        return self._call("PUT", path, _body(image=image, retain_image=retain_image, rule_id=rule_id))

    def list_verifications(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        kind: Literal["selfie", "identity", "liveness"] | None = None,
        result: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> T:
        """Redacted results; ``since`` (inclusive) and ``until`` (exclusive) are ISO times, UTC without an offset."""
        query = {
            "app_id": app_id,
            "limit": limit,
            "cursor": cursor,
            "kind": kind,
            "result": result,
            "since": since,
            "until": until,
        }
        return self._call("GET", "/v1/verifications", query=query)

    def list_sessions(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        state: Literal["created", "completed"] | None = None,
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "state": state}
        return self._call("GET", "/v1/sessions", query=query)

    def list_audit_records(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        event_type: str | None = None,
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "event_type": event_type}
        return self._call("GET", "/v1/audit-log", query=query)

    def list_webhook_deliveries(
        self,
        app_id: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        state: Literal["pending", "delivered", "failed"] | None = None,
        event: Literal["verification.result", "session.finished"] | None = None,
    ) -> T:
        query = {"app_id": app_id, "limit": limit, "cursor": cursor, "state": state, "event": event}
        return self._call("GET", "/v1/webhooks/deliveries", query=query)

    def redeliver_webhook(self, delivery_id: str) -> T:
        return self._call("POST", f"/v1/webhooks/deliveries/{_p(delivery_id)}/redeliver")
