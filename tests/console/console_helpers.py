"""Console test helpers: users of a tenant's account, a signed-in TestClient, the CSRF token of a page."""

from __future__ import annotations

import re
from typing import Any

PASSWORD = "correct horse battery"


def make_user(runtime: Any, account_id: int, name: str, role: str, password: str = PASSWORD) -> None:
    from openkyc.accounts import service as accounts

    with runtime.transaction() as session:
        accounts.create_user(session, account_id, name, password, accounts.Role(role), actor="test")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def login_csrf_of(html: str) -> str:
    found = re.search(r'name="login_csrf" value="([^"]+)"', html)
    assert found, "the sign-in page has no CSRF field"
    return found.group(1)


def sign_in(client: Any, name: str, password: str = PASSWORD) -> Any:
    form = client.get("/console/login")
    assert form.status_code == 200, form.text
    return client.post(
        "/console/login",
        data={"login_csrf": login_csrf_of(form.text), "user_name": name, "password": password},
        follow_redirects=False,
    )
