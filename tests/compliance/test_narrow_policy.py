"""Data-subject rights are a legal obligation: a narrower policy neither refuses them nor stops start-up."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from seeding import seed_person

from openkyc.api.app import create_app
from openkyc.privacy.policy import default_policy_text
from openkyc.runtime import Runtime


def _narrow_policy(path: Path) -> Path:
    """No 1:N search, no service use of identification: only troubleshooting remains for them."""
    data = yaml.safe_load(default_policy_text())
    data["name"] = "Narrow policy"
    data["categories"]["face_features"]["purposes"] = ["troubleshooting"]
    data["categories"]["identification"]["purposes"] = ["troubleshooting"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def narrow(settings: Any, tmp_path: Path, tenant: Any, runtime: Any) -> Iterator[tuple[Any, Any, Any]]:
    """The tenant's data seeded under the shipped policy, then the service restarted on a narrower one."""
    seeded = seed_person(runtime, tenant.app_id, "subj-n")
    narrowed = settings.model_copy(update={"policy_file": _narrow_policy(tmp_path / "narrow.yaml")})
    reopened = Runtime.open(narrowed, migrate=False)
    try:
        with TestClient(create_app(narrowed, reopened), raise_server_exceptions=False) as client:  # starts up
            yield dataclasses.replace(tenant, client=client), reopened, seeded
    finally:
        reopened.close()


def test_service_starts_and_refuses_what_the_narrow_policy_forbids(narrow: tuple[Any, Any, Any]) -> None:
    tenant, runtime, seeded = narrow
    assert runtime.gate.policy.name == "Narrow policy"
    refused = tenant.post(f"/v1/collections/{seeded.collection_id}/search", {"image": "aGVsbG8="})
    assert refused.status_code in (400, 403)  # the gate (or input checks) refuse; the service is up
    assert tenant.get("/v1/health").status_code == 200


def test_export_and_erasure_still_answer(narrow: tuple[Any, Any, Any]) -> None:
    tenant, _, seeded = narrow
    out = tenant.get(f"/v1/privacy/subjects/subj-n?biz_token={seeded.biz_token}")
    assert out.status_code == 200, out.text
    items = out.json()["items"]
    template = next(i for i in items if i["column"] == "template")
    assert template["purposes"] == ["troubleshooting"]  # what the policy in force still allows
    assert any(i["field"] == "document_number" for i in items)
    zipped = tenant.get(f"/v1/privacy/subjects/subj-n/export.zip?biz_token={seeded.biz_token}")
    assert zipped.status_code == 200
    erased = tenant.post("/v1/privacy/subjects/subj-n/erase", {"biz_tokens": [seeded.biz_token]})
    assert erased.status_code == 200, erased.text
    assert erased.json()["items"]["subjects"] == 1 and erased.json()["items"]["verification_results"] == 2
    assert tenant.get(f"/v1/privacy/subjects/subj-n?biz_token={seeded.biz_token}").json()["items"] == []
