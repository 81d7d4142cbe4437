"""Found trying the console as a new operator: the console created an app named ``<script>`` that
the management API refuses (its name pattern is letters, digits, ``_``, space, ``.``, ``-``). Both
adapters now share one check in ``openkyc.management.changes``."""

from __future__ import annotations

from typing import Any

import pytest
from console_helpers import csrf_of, make_user, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import select

from openkyc.store.models.accounts import App


@pytest.fixture
def console(runtime: Any, settings: Any) -> Any:
    from openkyc.api.app import create_app

    with TestClient(create_app(settings, runtime), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("name", ["<script>", "a/b", "shop;drop", "tab\there", "x" * 129])
def test_the_console_refuses_the_app_names_the_api_refuses(runtime: Any, tenant: Any, console: Any, name: str) -> None:
    api = tenant.post("/v1/apps", {"name": name})
    assert api.status_code == 400, api.text
    make_user(runtime, tenant.account_id, "olivia", "owner")
    assert sign_in(console, "olivia").status_code == 303
    token = csrf_of(console.get("/console/apps").text)
    refused = console.post("/console/apps", data={"csrf": token, "name": name})
    assert refused.status_code == 400 and "InvalidParameterValue" in refused.text, refused.text[:300]
    with runtime.transaction() as session:
        assert session.scalars(select(App).where(App.name == name.strip())).first() is None


def test_ordinary_names_still_work_in_both(runtime: Any, tenant: Any, console: Any) -> None:
    assert tenant.post("/v1/apps", {"name": "Shop-1 front_end v2.0"}).status_code == 200
    make_user(runtime, tenant.account_id, "olivia", "owner")
    assert sign_in(console, "olivia").status_code == 303
    token = csrf_of(console.get("/console/apps").text)
    made = console.post("/console/apps", data={"csrf": token, "name": "Shop-2 back_end v2.0"})
    assert made.status_code == 200 and 'id="secret-key"' in made.text
