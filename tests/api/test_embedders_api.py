"""Embedders chosen per rule and per collection over HTTP; the optional extra; model preload."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from openkyc.biometrics import registry
from openkyc.errors import ModelIntegrityError
from openkyc.store.models.faces import Collection, Subject


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@pytest.fixture
def ids(shared_data: Path) -> Path:
    return shared_data / "facerec-examples" / "identities"


def _rule(tenant: Any, name: str, config: dict[str, Any]) -> str:
    response = tenant.post("/v1/rules", {"name": name, "config": config})
    assert response.status_code == 200, response.text
    return str(response.json()["rule_id"])


@pytest.mark.slow
@pytest.mark.parametrize("embedder", ["dlib", "fusion"])
def test_compare_uses_the_rules_embedder(tenant: Any, runtime: Any, ids: Path, embedder: str) -> None:
    # dlib's calibrated genuine scores sit close to 70 (docs/biometrics.md recommends 60-70 for it),
    # and each test app draws a new random projection key, so the rule uses 60 here.
    rule_id = _rule(tenant, embedder, {"compare_threshold": 60, "embedder": embedder})
    obama, obama2, biden = ids / "obama" / "obama.jpg", ids / "obama" / "obama2.jpg", ids / "biden" / "biden.jpg"
    same = tenant.post("/v1/faces/compare", {"image_a": b64(obama), "image_b": b64(obama2), "rule_id": rule_id})
    assert same.status_code == 200, same.text
    assert same.json()["match"] is True and same.json()["threshold"] == 60
    diff = tenant.post("/v1/faces/compare", {"image_a": b64(obama), "image_b": b64(biden), "rule_id": rule_id})
    assert diff.json()["match"] is False and diff.json()["sim"] < 60
    assert same.json()["sim"] > diff.json()["sim"] + 20
    loaded = {name for models in runtime.models.idle() for name in models.loaded()}
    assert embedder in loaded and "sface" not in loaded


@pytest.mark.slow
def test_dlib_collection_enrols_and_finds_the_right_person(tenant: Any, runtime: Any, ids: Path) -> None:
    created = tenant.post("/v1/collections", {"name": "d", "embedder": "dlib"})
    assert created.status_code == 200, created.text
    col = created.json()["collection_id"]
    assert created.json()["embedder"] == "dlib"
    for subject, path in (("obama", ids / "obama" / "obama.jpg"), ("biden", ids / "biden" / "biden.jpg")):
        out = tenant.post(f"/v1/collections/{col}/subjects", {"subject_id": subject, "image": b64(path)})
        assert out.status_code == 200, out.text
    for subject, path in (("obama", ids / "obama" / "obama2.jpg"), ("biden", ids / "biden" / "biden2.jpg")):
        matches = tenant.post(f"/v1/collections/{col}/search", {"image": b64(path), "top_k": 2}).json()["matches"]
        assert matches[0]["subject_id"] == subject and matches[0]["sim"] >= 60
        assert matches[1]["sim"] < 60 and matches[0]["sim"] > matches[1]["sim"] + 20
    described = tenant.get(f"/v1/collections/{col}").json()
    assert described["embedder"] == "dlib" and described["subject_count"] == 2
    with runtime.transaction() as session:
        rows = session.scalars(select(Subject).where(Subject.collection_id == col)).all()
    assert all("/" not in row.key_id for row in rows)  # the app key id: rotation and retirement see it
    loaded = {name for models in runtime.models.idle() for name in models.loaded()}
    assert loaded == {"dlib"}  # SFace never loaded for a dlib collection


def test_collection_embedder_defaults_from_the_rule_else_sface(tenant: Any, runtime: Any) -> None:
    rule_id = _rule(tenant, "fused", {"embedder": "fusion"})
    from_rule = tenant.post("/v1/collections", {"name": "r", "rule_id": rule_id}).json()
    assert runtime.models.stats().built == 0  # choosing an embedder loads no model
    plain = tenant.post("/v1/collections", {"name": "p"}).json()
    explicit = tenant.post("/v1/collections", {"name": "e", "rule_id": rule_id, "embedder": "sface"}).json()
    assert (from_rule["embedder"], plain["embedder"], explicit["embedder"]) == ("fusion", "sface", "sface")
    with runtime.transaction() as session:
        stored = dict(session.execute(select(Collection.id, Collection.embedder)).tuples().all())
    assert stored[from_rule["collection_id"]] == "fusion" and stored[plain["collection_id"]] == "sface"
    bad = tenant.post("/v1/collections", {"name": "x", "embedder": "arcface"})
    assert bad.status_code == 400


@pytest.mark.parametrize("embedder", ["dlib", "fusion"])
def test_missing_dlib_extra_is_a_stable_error(
    tenant: Any, monkeypatch: pytest.MonkeyPatch, shared_data: Path, embedder: str
) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)
    rule_id = _rule(tenant, "r", {"embedder": embedder})
    photo = b64(shared_data / "facerec-examples" / "identities" / "obama" / "obama.jpg")
    compare = tenant.post("/v1/faces/compare", {"image_a": photo, "image_b": photo, "rule_id": rule_id})
    created = tenant.post("/v1/collections", {"name": "c", "embedder": embedder})
    for response in (compare, created):
        assert response.status_code == 501
        assert response.json()["Error"]["Code"] == "UnsupportedOperation.EmbedderUnavailable"


def test_preload_loads_and_verifies_the_default_models(
    settings: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from openkyc.api.app import create_app

    on = settings.model_copy(update={"preload_models": True})
    with TestClient(create_app(on, runtime)):
        # every model set of the pool built, with all its models (sha256-checked), before any request
        assert runtime.models.stats().built == runtime.models.size >= 1
        assert [models.loaded() for models in runtime.models.idle()] == [["sface", "documents", "liveness"]] * (
            runtime.models.size
        )
    runtime.components.pop("models")
    with TestClient(create_app(settings, runtime)):
        assert runtime.models.stats().built == 0  # the test settings switch it off
    monkeypatch.setattr(registry, "sha256_file", lambda path: "0" * 64)
    with pytest.raises(ModelIntegrityError), TestClient(create_app(on, runtime)):
        pass


def test_selfie_uses_the_rules_embedder(tenant: Any, monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # the dlib engine is asked for before any video work
    rule_id = _rule(tenant, "selfie-dlib", {"embedder": "dlib"})
    photo = b64(shared_data / "facerec-examples" / "identities" / "obama" / "obama.jpg")
    video = base64.b64encode(b"\x00" * 64).decode()
    response = tenant.post("/v1/verifications/selfie", {"video": video, "image": photo, "rule_id": rule_id})
    assert response.status_code == 501, response.text
    assert response.json()["Error"]["Code"] == "UnsupportedOperation.EmbedderUnavailable"
