"""The console over HTTP (no browser): sign-in, cookies, CSRF, lockout, roles, every page, and the
audit record of each change. The browser flows are in test_console_browser.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_helpers import PASSWORD, csrf_of, make_user, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import select

from openkyc.store.models.accounts import ConsoleSession
from openkyc.store.models.privacy import AuditRecord

PAGES = [
    "/console/", "/console/apps", "/console/credentials", "/console/rules", "/console/collections",
    "/console/verifications", "/console/sessions", "/console/usage", "/console/bills", "/console/requests",
    "/console/audit", "/console/ropa", "/console/consents", "/console/subjects", "/console/models",
    "/console/webhooks", "/console/users",
]  # fmt: skip


@pytest.fixture
def browser(runtime: Any, settings: Any) -> Any:
    """A fresh cookie jar on the app (the tenant's client keeps its own)."""
    from openkyc.api.app import create_app

    with TestClient(create_app(settings, runtime), raise_server_exceptions=False) as client:
        yield client


def _events(runtime: Any, action: str) -> list[AuditRecord]:
    with runtime.transaction() as session:
        rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
        return [r for r in rows if r.details.get("action") == action]


def test_sign_in_sets_a_strict_httponly_cookie_and_every_page_renders(runtime: Any, tenant: Any, browser: Any) -> None:
    assert browser.get("/console/apps", follow_redirects=False).status_code == 303  # not signed in
    make_user(runtime, tenant.account_id, "olivia", "owner")
    answer = sign_in(browser, "olivia")
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert "openkyc_console=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/console" in cookie and "Secure" not in cookie  # plain http in the test
    with runtime.transaction() as session:  # only the token's hash is stored
        stored = session.scalars(select(ConsoleSession)).all()
        token = re.search(r"openkyc_console=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
        assert len(stored) == 1 and stored[0].token_hash != token and token not in stored[0].token_hash
    for path in PAGES:
        page = browser.get(path)
        assert page.status_code == 200, f"{path}: {page.status_code} {page.text[:300]}"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "<script" not in page.text.lower()  # no JavaScript at all
    assert _events(runtime, "console_login")


def test_a_post_without_the_csrf_token_is_refused(runtime: Any, tenant: Any, browser: Any) -> None:
    make_user(runtime, tenant.account_id, "olivia", "owner")
    sign_in(browser, "olivia")
    refused = browser.post("/console/apps", data={"name": "forged"})
    assert refused.status_code == 403 and "UnauthorizedOperation.CsrfTokenInvalid" in refused.text
    wrong = browser.post("/console/apps", data={"name": "forged", "csrf": "guess"})
    assert wrong.status_code == 403
    assert browser.get("/console/apps").text.count("forged") == 0
    token = csrf_of(browser.get("/console/apps").text)
    made = browser.post("/console/apps", data={"name": "genuine", "csrf": token})
    assert made.status_code == 200 and 'id="secret-key"' in made.text


def test_wrong_passwords_lock_the_user_even_for_the_right_one(runtime: Any, tenant: Any, browser: Any) -> None:
    make_user(runtime, tenant.account_id, "mallory-target", "admin")
    limit = runtime.settings.console_max_failed_logins
    for _ in range(limit - 1):
        assert sign_in(browser, "mallory-target", "wrong password!").status_code == 401
    assert sign_in(browser, "mallory-target", "wrong password!").status_code == 423  # the limit-th failure locks
    assert sign_in(browser, "mallory-target", PASSWORD).status_code == 423  # locked, even with the right password
    assert len(_events(runtime, "console_lockout")) == 1
    assert sign_in(browser, "nobody-at-all", PASSWORD).status_code == 401  # unknown users answer like wrong passwords
    stale = browser.post(
        "/console/login", data={"login_csrf": "forged", "user_name": "mallory-target", "password": PASSWORD}
    )
    assert stale.status_code == 403


def test_roles_decide_what_a_user_may_change(runtime: Any, tenant: Any, browser: Any) -> None:
    make_user(runtime, tenant.account_id, "audrey", "auditor")
    sign_in(browser, "audrey")
    apps = browser.get("/console/apps")
    assert apps.status_code == 200 and 'id="create-form"' not in apps.text
    refused = browser.post("/console/apps", data={"name": "sneaky", "csrf": csrf_of(apps.text)})
    assert refused.status_code == 403 and "UnauthorizedOperation.RoleNotAllowed" in refused.text
    assert browser.get("/console/subjects").status_code == 403  # data-subject requests: owner and admin
    assert browser.get("/console/audit").status_code == 200  # auditors read the audit log


def test_console_changes_are_audited_under_a_pseudonym(runtime: Any, tenant: Any, browser: Any) -> None:
    make_user(runtime, tenant.account_id, "olivia", "owner")
    sign_in(browser, "olivia")
    token = csrf_of(browser.get("/console/apps").text)
    created = browser.post("/console/apps", data={"name": "from-console", "csrf": token})
    key = re.search(r'id="secret-key">([^<]+)<', created.text).group(1)  # type: ignore[union-attr]
    assert len(key) >= 32
    again = browser.get("/console/credentials?app=" + re.search(r'id="secret-app">(\d+)<', created.text).group(1))  # type: ignore[union-attr]
    assert key not in again.text  # shown once only
    (record,) = [
        r
        for r in _events(runtime, "app_create")
        if r.details.get("account_id") == tenant.account_id and r.actor != "admin"
    ]
    assert record.actor.startswith("staff-") and "olivia" not in str(record.details)
    verified = browser.post("/console/audit/verify", data={"csrf": token})
    assert verified.status_code == 200 and "The chain holds." in verified.text
    browser.post("/console/logout", data={"csrf": token})
    assert browser.get("/console/apps", follow_redirects=False).status_code == 303
    assert _events(runtime, "console_logout")


@pytest.fixture
def tuned(settings: Any, runtime: Any) -> Any:
    """A console with 2 failures to lock, a 1-minute lockout and a 1-hour session, and a movable clock."""
    from datetime import timedelta

    from openkyc.api.app import create_app

    changed = settings.model_copy(
        update={"console_max_failed_logins": 2, "console_lockout_minutes": 1.0, "console_session_hours": 1.0}
    )
    runtime.settings = changed
    start = runtime.clock()
    offset = {"minutes": 0.0}
    runtime.clock = lambda: start + timedelta(minutes=offset["minutes"])
    with TestClient(create_app(changed, runtime), raise_server_exceptions=False) as client:
        yield client, offset


def test_the_console_settings_do_what_they_say(runtime: Any, tenant: Any, tuned: Any) -> None:
    client, offset = tuned
    make_user(runtime, tenant.account_id, "tess", "developer")
    assert sign_in(client, "tess", "wrong password!").status_code == 401
    assert sign_in(client, "tess", "wrong password!").status_code == 423  # OPENKYC_CONSOLE_MAX_FAILED_LOGINS=2
    offset["minutes"] = 0.5
    assert sign_in(client, "tess").status_code == 423  # still within OPENKYC_CONSOLE_LOCKOUT_MINUTES=1
    offset["minutes"] = 1.5
    answer = sign_in(client, "tess")
    assert answer.status_code == 303  # the lockout ended
    assert "Max-Age=3600" in answer.headers["set-cookie"]  # OPENKYC_CONSOLE_SESSION_HOURS=1
    assert client.get("/console/apps").status_code == 200
    offset["minutes"] = 1.5 + 61
    assert client.get("/console/apps", follow_redirects=False).status_code == 303  # the sign-in expired


def test_long_lists_page_with_the_cursor(runtime: Any, tenant: Any, browser: Any) -> None:
    from openkyc.accounts import service as accounts

    with runtime.transaction() as session:
        for i in range(101):
            accounts.create_app(session, tenant.account_id, f"bulk-{i:03d}", actor="test")
    make_user(runtime, tenant.account_id, "olivia", "owner")
    sign_in(browser, "olivia")
    first = browser.get(f"/console/apps?app={tenant.app_id}")
    more = re.search(r'id="more" href="([^"]+)"|href="([^"]+)" id="more"', first.text)
    assert more is not None, "no link to the next page"
    second = browser.get(next(g for g in more.groups() if g).replace("&amp;", "&"))
    assert second.status_code == 200 and 'id="more"' not in second.text
    bodies = "".join(re.findall(r"<tbody>(.*?)</tbody>", first.text + second.text, re.S))
    names = re.findall(r"<td>(bulk-\d{3}|tenant)</td>", bodies)
    assert len(names) == 102 and len(set(names)) == 102  # every app once, over two pages
