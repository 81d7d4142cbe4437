"""``OPENKYC_TEMPLATE_BITS``: the size of new template keys and of rotations (1024 or 2048 bits,
default 2048); existing keys keep theirs, and a value outside the two is refused at start."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from openkyc.accounts import service as accounts
from openkyc.api.app import create_app
from openkyc.biometrics import keystore
from openkyc.biometrics.calibration import Calibration, new_key_format
from openkyc.biometrics.repository import template_aad
from openkyc.biometrics.templates import SUPER_BIT, FaceTemplate, hamming_similarity
from openkyc.cli.main import build
from openkyc.jobs import tasks
from openkyc.runtime import Runtime
from openkyc.settings import Settings
from openkyc.store.models.faces import Subject, TemplateKeyRow


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _served(settings: Any, tenant: Any, bits: int) -> tuple[Runtime, TestClient, Any]:
    """A runtime and app under ``OPENKYC_TEMPLATE_BITS=bits``, and a signing client of a new app."""
    changed = settings.model_copy(update={"template_bits": bits})
    runtime = Runtime.open(changed, migrate=False)
    with runtime.transaction() as session:
        account = accounts.create_account(session, f"bits-{bits}")
        app = accounts.create_app(session, account.id, f"bits-{bits}")
        issued = accounts.create_credential(session, runtime.keyring, app.id)
    client = TestClient(create_app(changed, runtime), raise_server_exceptions=False)
    return runtime, client, type(tenant)(account.id, app.id, issued.secret_id, issued.secret_key, client)


def _stored(runtime: Runtime, app_id: int) -> dict[str, FaceTemplate]:
    """The app's stored templates (opened from their sealed copies), by keyed subject id."""
    with runtime.transaction() as session:
        rows = session.scalars(select(Subject).where(Subject.app_id == app_id)).all()
        return {
            row.subject_id: FaceTemplate.from_bytes(
                runtime.keyring.decrypt(row.template, template_aad(row.app_id, row.collection_id, row.subject_id))
            )
            for row in rows
        }


def _key_rows(runtime: Runtime, app_id: int) -> dict[str, tuple[int, int, bool]]:
    with runtime.transaction() as session:
        rows = session.scalars(select(TemplateKeyRow).where(TemplateKeyRow.app_id == app_id)).all()
        return {row.key_id: (row.bits, row.template_version, row.active) for row in rows}


def test_the_default_is_2048_bits_and_the_table_scores_both_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENKYC_TEMPLATE_BITS", raising=False)
    assert Settings().template_bits == 2048 == Calibration.packaged("sface").bits
    for embedder in ("sface", "dlib", "fusion"):
        assert new_key_format(embedder, 1024) == (1024, SUPER_BIT)
        assert new_key_format(embedder, 2048) == (2048, SUPER_BIT)
    with pytest.raises(ValueError, match="no calibration for 4096-bit version-2"):
        new_key_format("sface", 4096)  # version-1 knots exist at 4096 bits, version-2 ones do not


@pytest.mark.parametrize("value", ["1024", "2048", " 1024 ", 2048])
def test_the_two_sizes_are_accepted(monkeypatch: pytest.MonkeyPatch, value: Any) -> None:
    monkeypatch.setenv("OPENKYC_TEMPLATE_BITS", str(value))
    assert Settings().template_bits == int(str(value))


@pytest.mark.parametrize("value", ["512", "4096", "1024.0", "", "big", "-2048"])
def test_any_other_value_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OPENKYC_TEMPLATE_BITS", value)
    with pytest.raises(ValidationError, match="1024 or 2048 bits"):
        Settings()


def test_serve_refuses_a_bad_size_before_it_starts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "MASTER_KEY", "REDIS_URL", "WORKERS"):
        monkeypatch.delenv(f"OPENKYC_{name}", raising=False)
    result = CliRunner().invoke(
        build(), ["serve", "--data-dir", str(tmp_path / "d"), "--port", "1"], env={"OPENKYC_TEMPLATE_BITS": "4096"}
    )
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr == (
        "error: InvalidParameterValue.Setting: OPENKYC_TEMPLATE_BITS: the size of new template keys is 1024 or "
        "2048 bits, not '4096'\n"
    )
    assert result.stdout == "" and not (tmp_path / "d").exists()  # nothing started, nothing written


def test_a_refused_setting_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The refusal names the variable and the rule, never the value (a setting may be a secret)."""
    monkeypatch.delenv("OPENKYC_DATABASE_URL", raising=False)
    cases = {
        "OPENKYC_PORT: Input should be less than or equal to 65535": {"OPENKYC_PORT": "99999"},
        "settings: OPENKYC_MASTER_KEY is a placeholder; set a real key": {
            "OPENKYC_MASTER_KEY": "changeme",
            "OPENKYC_ENVIRONMENT": "production",
        },
    }
    for message, env in cases.items():
        result = CliRunner().invoke(build(), ["serve", "--data-dir", str(tmp_path / "d")], env=env)
        assert result.exit_code == 2, (result.stdout, result.stderr)
        assert result.stderr == f"error: InvalidParameterValue.Setting: {message}\n"


@pytest.mark.slow
def test_a_key_made_under_1024_bits_makes_128_byte_templates_scored_with_their_knots(
    settings: Any, tenant: Any, shared_data: Path
) -> None:
    ids = shared_data / "facerec-examples" / "identities"
    runtime, client, tenant = _served(settings, tenant, 1024)
    try:
        with client:
            col = tenant.post("/v1/collections", {"name": "small"}).json()["collection_id"]
            for subject in ("obama", "biden"):
                body = {"subject_id": subject, "image": _b64(ids / subject / f"{subject}.jpg")}
                assert tenant.post(f"/v1/collections/{col}/subjects", body).status_code == 200
            query = {"image": _b64(ids / "obama" / "obama2.jpg"), "top_k": 2}
            matches = tenant.post(f"/v1/collections/{col}/search", query).json()["matches"]
            compared = tenant.post(
                "/v1/faces/compare",
                {"image_a": _b64(ids / "obama" / "obama.jpg"), "image_b": _b64(ids / "biden" / "biden.jpg")},
            ).json()
        rows = _key_rows(runtime, tenant.app_id)
        assert list(rows.values()) == [(1024, SUPER_BIT, True)]
        stored = _stored(runtime, tenant.app_id)
        assert {(t.bits, t.version, len(t.data)) for t in stored.values()} == {(1024, SUPER_BIT, 128)}

        # the answers' sims are the 1024-bit version-2 knots applied to the templates' Hamming similarity
        engine = runtime.models.lease
        with runtime.transaction() as session:
            key = keystore.key_by_id(session, runtime.keyring, tenant.app_id, next(iter(rows)))
        with engine() as models:
            face = models.face_engine()
            protect = face.protector(key).protect
            probe = protect(face.embed((ids / "obama" / "obama2.jpg").read_bytes())[0])
            pair = [protect(face.embed((ids / s / f"{s}.jpg").read_bytes())[0]) for s in ("obama", "biden")]
        table = Calibration.packaged("sface")
        refs = {runtime.subject_keys.subject_ref(tenant.app_id, s): s for s in ("obama", "biden")}
        expected = {
            refs[ref]: round(table.sim(hamming_similarity(probe, t), "template", 1024, SUPER_BIT), 2)
            for ref, t in stored.items()
        }
        assert {m["subject_id"]: m["sim"] for m in matches} == expected
        assert matches[0]["subject_id"] == "obama" and matches[0]["sim"] >= 70
        score = hamming_similarity(*pair)
        assert compared["sim"] == round(table.sim(score, "template", 1024, SUPER_BIT), 2)
        # and not the 2048-bit knots: the impostor pair's sim depends on which knots score it
        assert compared["sim"] != round(table.sim(score, "template", 2048, SUPER_BIT), 2)
    finally:
        runtime.close()


@pytest.mark.slow
def test_rotation_follows_the_setting_and_existing_keys_keep_their_size(
    settings: Any, tenant: Any, shared_data: Path
) -> None:
    """An app enrolled under the default (2048) keeps its key when the setting changes to 1024; the
    rotation (the job the worker and ``openkyc keys rotate-template`` run) makes a 1024-bit key and
    re-issues the retained template at 128 bytes; a search over both sizes still finds both."""
    ids = shared_data / "facerec-examples" / "identities"
    runtime, client, tenant = _served(settings, tenant, 2048)
    try:
        with client:
            col = tenant.post("/v1/collections", {"name": "rot"}).json()["collection_id"]
            for subject, retain in (("obama", True), ("biden", False)):
                body = {"subject_id": subject, "image": _b64(ids / subject / f"{subject}.jpg"), "retain_image": retain}
                assert tenant.post(f"/v1/collections/{col}/subjects", body).status_code == 200
        ((old_key, old_format),) = ((k, v[:2]) for k, v in _key_rows(runtime, tenant.app_id).items())
        assert old_format == (2048, SUPER_BIT)
    finally:
        runtime.close()

    runtime, client, _ = _served(settings, tenant, 1024)  # the same database, the setting changed
    try:
        refs = {runtime.subject_keys.subject_ref(tenant.app_id, s): s for s in ("obama", "biden")}
        with client:  # an existing key is not replaced by the new size
            query = {"image": _b64(ids / "biden" / "biden2.jpg"), "top_k": 1}
            assert tenant.post(f"/v1/collections/{col}/search", query).json()["matches"][0]["subject_id"] == "biden"
        assert _key_rows(runtime, tenant.app_id) == {old_key: (2048, SUPER_BIT, True)}

        report = tasks.rotate_template_key(runtime, tenant.app_id)
        assert (report["reissued"], report["pending_reenrolment"]) == (1, 1)
        rows = _key_rows(runtime, tenant.app_id)
        assert rows == {old_key: (2048, SUPER_BIT, False), report["new_key_id"]: (1024, SUPER_BIT, True)}
        sizes = {
            refs[ref]: (t.key_id.split("/")[0], t.bits, len(t.data))
            for ref, t in _stored(runtime, tenant.app_id).items()
        }
        assert sizes == {"obama": (report["new_key_id"], 1024, 128), "biden": (old_key, 2048, 256)}
        with client:
            for subject in ("obama", "biden"):
                query = {"image": _b64(ids / subject / f"{subject}2.jpg"), "top_k": 2}
                match = tenant.post(f"/v1/collections/{col}/search", query).json()["matches"][0]
                assert match["subject_id"] == subject and match["sim"] >= 70
    finally:
        runtime.close()
