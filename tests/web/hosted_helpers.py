"""Helpers of the hosted-flow tests (a module with a unique name: never import ``conftest``)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from openkyc.store.models.verification import VerificationSession

HTML = {"Accept": "text/html,application/xhtml+xml"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def rule(tenant: Any, name: str, config: dict[str, Any]) -> str:
    response = tenant.post("/v1/rules", {"name": name, "config": config})
    assert response.status_code == 200, response.text
    return str(response.json()["rule_id"])


def plain_rule(tenant: Any, name: str = "plain", config: dict[str, Any] | None = None) -> str:
    """A rule without timed challenges: a recorded clip cannot follow a schedule drawn after it."""
    return rule(tenant, name, {**(config or {}), "hosted": {"challenge": False}})


def session(tenant: Any, **fields: Any) -> str:
    response = tenant.post("/v1/sessions", {"redirect_url": "https://shop.example/done", **fields})
    assert response.status_code == 200, response.text
    return str(response.json()["biz_token"])


def row(runtime: Any, token: str) -> VerificationSession:
    with runtime.transaction() as db:
        found = db.get(VerificationSession, runtime.subject_keys.token_ref(token))
        assert found is not None
        db.expunge(found)
        return found


def page_state(html: str) -> dict[str, Any]:
    """The state the page's script starts from (the JSON object it is given)."""
    found = re.search(r"const S = (\{.*?\});\n", html, re.S)
    assert found, "the page carries no state"
    state: dict[str, Any] = json.loads(found.group(1))
    return state
