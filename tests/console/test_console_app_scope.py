"""Found trying the console as a new operator: a page or form naming an app that is not one of the
account's (another account's, a mistyped or stale id) silently acted on the account's *first* app.
An erasure posted with another account's app id erased the subject of that id in the first app.
Like the management API (404 ``ResourceNotFound.App``), the console now refuses it and changes nothing."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from console_helpers import csrf_of, make_user, sign_in
from fastapi.testclient import TestClient


@pytest.fixture
def console(runtime: Any, settings: Any) -> Any:
    from openkyc.api.app import create_app

    with TestClient(create_app(settings, runtime), raise_server_exceptions=False) as client:
        yield client


def test_an_app_outside_the_account_is_404_and_nothing_is_erased(
    runtime: Any, make_tenant: Any, console: Any, shared_data: Path
) -> None:
    ours, theirs = make_tenant("ours"), make_tenant("theirs")
    photo = base64.b64encode((shared_data / "facerec-examples/identities/biden/biden.jpg").read_bytes()).decode()
    collection = ours.post("/v1/collections", {"name": "people"}).json()["collection_id"]
    enrolled = ours.post(f"/v1/collections/{collection}/subjects", {"subject_id": "p-1", "image": photo})
    assert enrolled.status_code == 200, enrolled.text

    make_user(runtime, ours.account_id, "olivia", "owner")
    assert sign_in(console, "olivia").status_code == 303
    token = csrf_of(console.get("/console/subjects").text)
    for wrong in (str(theirs.app_id), "12345", "abc"):
        page = console.get(f"/console/collections?app={wrong}")
        assert page.status_code == 404 and "ResourceNotFound.App" in page.text, page.text[:300]
        erased = console.post(
            "/console/subjects/erase", data={"csrf": token, "app": wrong, "subject_id": "p-1", "confirm": "yes"}
        )
        assert erased.status_code == 404 and "ResourceNotFound.App" in erased.text, erased.text[:300]
    listed = ours.get(f"/v1/collections/{collection}/subjects").json()["subjects"]
    assert [s["subject_id"] for s in listed] == ["p-1"]  # still enrolled

    # the account's own app, named or not, works as before
    assert console.get(f"/console/collections?app={ours.app_id}").status_code == 200
    assert console.get("/console/collections").status_code == 200
    erased = console.post(
        "/console/subjects/erase",
        data={"csrf": token, "app": str(ours.app_id), "subject_id": "p-1", "confirm": "yes"},
    )
    assert erased.status_code == 200 and "receipt" in erased.text.lower()
    assert ours.get(f"/v1/collections/{collection}/subjects").json()["subjects"] == []
