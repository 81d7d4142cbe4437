"""Found trying the console as a new operator: a user whose lockout had ended was still listed as
locked (``GET /v1/users`` and the Users page said ``locked`` while ``locked_until`` was set at all,
even in the past), until the user's next successful sign-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from console_helpers import make_user, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import update

from openkyc.store.models.accounts import User


@pytest.fixture
def console(runtime: Any, settings: Any) -> Any:
    from openkyc.api.app import create_app

    with TestClient(create_app(settings, runtime), raise_server_exceptions=False) as client:
        yield client


def _lock(runtime: Any, name: str, until: datetime) -> None:
    with runtime.transaction() as session:
        session.execute(update(User).where(User.user_name == name).values(locked_until=until))


def _listed(tenant: Any) -> dict[str, bool]:
    answer = tenant.get("/v1/users")
    assert answer.status_code == 200, answer.text
    return {u["user_name"]: u["locked"] for u in answer.json()["users"]}


def test_locked_means_locked_now(runtime: Any, tenant: Any, console: Any) -> None:
    make_user(runtime, tenant.account_id, "olivia", "owner")
    make_user(runtime, tenant.account_id, "lena", "developer")
    make_user(runtime, tenant.account_id, "past", "developer")
    now = datetime.now(UTC)
    _lock(runtime, "lena", now + timedelta(minutes=10))
    _lock(runtime, "past", now - timedelta(minutes=1))
    assert _listed(tenant) == {"olivia": False, "lena": True, "past": False}

    assert sign_in(console, "olivia").status_code == 303
    page = console.get("/console/users").text
    rows = {
        cells[0]: cells[2]
        for cells in (
            [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
        )
        if len(cells) >= 3
    }
    assert rows == {"olivia": "no", "lena": "yes", "past": "no"}
    # and the lockout that ended does not refuse the right password
    assert sign_in(console, "past").status_code == 303
