"""Found trying the console as a new operator: form input that answered 500 instead of a clear 4xx.

- a rule configuration nested deeper than the API allows (the API answers
  ``InvalidParameter.MalformedJSON`` before parsing; the console parsed it and hit RecursionError);
- a sign-in's *account id* that is a huge number or a non-ASCII digit (``int()`` overflowed the
  database integer or raised ValueError);
- a NUL character in any form field (PostgreSQL refuses NUL in text: the API refuses it for every
  route with ``InvalidParameterValue.NulCharacter``, the console's forms did not).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_helpers import PASSWORD, csrf_of, login_csrf_of, make_user, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from openkyc.store.models.accounts import App
from openkyc.store.models.config import Rule

pytestmark = pytest.mark.db


@pytest.fixture
def console(runtime: Any, settings: Any) -> Any:
    from openkyc.api.app import create_app

    with TestClient(create_app(settings, runtime), raise_server_exceptions=False) as client:
        yield client


def _code(page: Any) -> str:
    found = re.search(r"(InvalidParameter[\w.]*)", page.text)
    return found.group(1) if found else page.text[:300]


def test_a_rule_configuration_nested_too_deep_is_refused_not_a_500(runtime: Any, tenant: Any, console: Any) -> None:
    make_user(runtime, tenant.account_id, "dora", "developer")
    assert sign_in(console, "dora").status_code == 303
    token = csrf_of(console.get("/console/rules").text)
    made = console.post("/console/rules", data={"csrf": token, "name": "deep"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    rule_page = made.headers["location"]
    for config in ('{"a":' * 3000 + "1" + "}" * 3000, "[" * 100_000 + "]" * 100_000, '{"a":' * 40 + "1" + "}" * 40):
        refused = console.post(rule_page, data={"csrf": token, "name": "deep", "config": config})
        assert refused.status_code == 400, refused.text[:300]
        assert _code(refused) == "InvalidParameter.MalformedJSON"
    # an ordinary edit still saves a version
    saved = console.post(rule_page, data={"csrf": token, "name": "deep", "config": '{"compare_threshold": 75}'})
    assert saved.status_code == 200 and "75" in saved.text
    with runtime.transaction() as session:
        rule = session.scalars(select(Rule)).one()
        assert rule.version == 2


@pytest.mark.parametrize("account", ["99999999999999999999999", "\u00b2", "-5", "12a"])
def test_a_bad_account_id_at_sign_in_is_a_400(runtime: Any, tenant: Any, console: Any, account: str) -> None:
    make_user(runtime, tenant.account_id, "olivia", "owner")
    form = console.get("/console/login")
    fields = {
        "login_csrf": login_csrf_of(form.text),
        "user_name": "olivia",
        "password": PASSWORD,
        "account_id": account,
    }
    refused = console.post("/console/login", data=fields, follow_redirects=False)
    assert refused.status_code == 400, refused.text[:300]
    assert "The account id is a number" in refused.text
    assert "openkyc_console=" not in refused.headers.get("set-cookie", "")
    # the right account id (and none) still signs in
    right = dict(
        fields, login_csrf=login_csrf_of(console.get("/console/login").text), account_id=str(tenant.account_id)
    )
    assert console.post("/console/login", data=right, follow_redirects=False).status_code == 303


def test_a_nul_character_in_a_form_is_refused_everywhere(runtime: Any, tenant: Any, console: Any) -> None:
    form = console.get("/console/login")
    fields = {"login_csrf": login_csrf_of(form.text), "user_name": "oli\x00via", "password": "x"}
    refused = console.post("/console/login", data=fields, follow_redirects=False)
    assert refused.status_code == 400 and "InvalidParameterValue.NulCharacter" in refused.text, refused.text[:300]

    make_user(runtime, tenant.account_id, "olivia", "owner")
    assert sign_in(console, "olivia").status_code == 303
    token = csrf_of(console.get("/console/apps").text)
    with runtime.transaction() as session:
        apps_before = session.scalar(select(func.count()).select_from(App))
    for path, data in [
        ("/console/apps", {"name": "shop\x00"}),
        ("/console/rules", {"name": "r\x00"}),
        ("/console/subjects/export", {"subject_id": "a\x00b"}),
        ("/console/subjects/erase", {"subject_id": "a\x00b", "confirm": "yes"}),
    ]:
        answer = console.post(path, data={"csrf": token, **data})
        assert answer.status_code == 400, f"{path}: {answer.status_code} {answer.text[:300]}"
        assert "InvalidParameterValue.NulCharacter" in answer.text
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(App)) == apps_before
        assert session.scalar(select(func.count()).select_from(Rule)) == 0


def test_a_bad_ip_range_is_named_plainly_in_the_console_and_the_api(runtime: Any, tenant: Any, console: Any) -> None:
    config = {"security": {"ip_allow_list": ["not-an-ip"]}}
    api = tenant.post("/v1/rules", {"name": "ips", "config": config})
    assert api.status_code == 400, api.text
    message = api.json()["Error"]["Message"]
    assert "config.security.ip_allow_list.0: Input is not a valid IPv4 network" in message, message
    assert "[" not in message and "lax-or-strict" not in message

    make_user(runtime, tenant.account_id, "dora", "developer")
    assert sign_in(console, "dora").status_code == 303
    token = csrf_of(console.get("/console/rules").text)
    made = console.post("/console/rules", data={"csrf": token, "name": "ips2"}, follow_redirects=False)
    refused = console.post(
        made.headers["location"],
        data={"csrf": token, "name": "ips2", "config": '{"security": {"ip_allow_list": ["not-an-ip"]}}'},
    )
    assert refused.status_code == 400
    assert "config.security.ip_allow_list.0: Input is not a valid IPv4 network" in refused.text
    assert "lax-or-strict" not in refused.text
