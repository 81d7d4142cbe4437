"""Template-key rotation: renewable templates, and search keeps working across keys."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from openkyc.biometrics.calibration import template_bits, template_version
from openkyc.biometrics.repository import template_aad
from openkyc.biometrics.rotation import rotate_template_key
from openkyc.biometrics.templates import PLAIN, SUPER_BIT, FaceTemplate
from openkyc.store.models.faces import Subject, TemplateKeyRow

pytestmark = pytest.mark.slow


def test_rotation_reissues_retained_and_search_still_finds_everyone(
    tenant: Any, runtime: Any, shared_data: Path
) -> None:
    ids = shared_data / "facerec-examples" / "identities"
    col = tenant.post("/v1/collections", {"name": "c"}).json()["collection_id"]
    enrol = [("obama", ids / "obama" / "obama.jpg", True), ("biden", ids / "biden" / "biden.jpg", False)]
    for subject, path, retain in enrol:
        body = {"subject_id": subject, "image": base64.b64encode(path.read_bytes()).decode(), "retain_image": retain}
        assert tenant.post(f"/v1/collections/{col}/subjects", body).status_code == 200
    names = {runtime.subject_keys.subject_ref(tenant.app_id, s): s for s, _, _ in enrol}  # stored as keyed hashes
    with runtime.transaction() as session:
        old_keys = {names[row.subject_id]: row.key_id for row in session.scalars(select(Subject))}

    report = rotate_template_key(runtime.access, runtime.models, tenant.app_id, bits=runtime.settings.template_bits)
    assert (report.reissued, report.pending, report.retired_keys) == (1, 1, 0)

    with runtime.transaction() as session:
        rows = session.scalars(select(Subject)).all()
        new_keys = {names[row.subject_id]: row.key_id for row in rows}
        reissued = [
            FaceTemplate.from_bytes(
                runtime.keyring.decrypt(row.template, template_aad(row.app_id, row.collection_id, row.subject_id))
            )
            for row in rows
            if names[row.subject_id] == "obama"
        ]
        assert all(row.template[:2] == b"K1" and row.template[3:6] == b"sk-" for row in rows)  # sealed
        active = session.scalars(select(TemplateKeyRow).where(TemplateKeyRow.active.is_(True))).all()
    assert new_keys["obama"] == report.new_key_id != old_keys["obama"]
    assert reissued[0].key_id.startswith(report.new_key_id)  # the re-issued template, opened from its sealed copy
    assert new_keys["biden"] == old_keys["biden"]
    assert [k.key_id for k in active] == [report.new_key_id]

    for subject, path in (("obama", ids / "obama" / "obama2.jpg"), ("biden", ids / "biden" / "biden2.jpg")):
        query = {"image": base64.b64encode(path.read_bytes()).decode(), "top_k": 1}
        match = tenant.post(f"/v1/collections/{col}/search", query).json()["matches"][0]
        assert match["subject_id"] == subject and match["sim"] >= 70


def test_templates_of_an_older_size_keep_matching_and_rotation_reissues_them_at_the_new_size(
    tenant: Any, runtime: Any, shared_data: Path
) -> None:
    """An app whose key was made for another size and version (a 4096-bit plain key row): its
    templates stay 4096-bit version 1 and keep matching; rotate-template moves the retained one to
    a key of the default size and version (2048-bit super-bit), and a search over both still finds
    everyone."""
    from openkyc.biometrics import keystore

    with runtime.transaction() as session:  # the key an older release made for this app
        old = keystore.active_key(session, runtime.keyring, tenant.app_id, 4096, runtime.clock())
    ids = shared_data / "facerec-examples" / "identities"
    col = tenant.post("/v1/collections", {"name": "sizes"}).json()["collection_id"]
    enrol = [("obama", ids / "obama" / "obama.jpg", True), ("biden", ids / "biden" / "biden.jpg", False)]
    for subject, path, retain in enrol:
        body = {"subject_id": subject, "image": base64.b64encode(path.read_bytes()).decode(), "retain_image": retain}
        assert tenant.post(f"/v1/collections/{col}/subjects", body).status_code == 200
    names = {runtime.subject_keys.subject_ref(tenant.app_id, s): s for s, _, _ in enrol}

    def sizes() -> dict[str, tuple[str, int, int]]:
        with runtime.transaction() as session:
            out = {}
            for row in session.scalars(select(Subject)):
                aad = template_aad(row.app_id, row.collection_id, row.subject_id)
                template = FaceTemplate.from_bytes(runtime.keyring.decrypt(row.template, aad))
                assert row.template_version == template.version
                out[names[row.subject_id]] = (row.key_id, template.bits, template.version)
            return out

    assert old.version == PLAIN
    assert sizes() == {"obama": (old.key_id, 4096, PLAIN), "biden": (old.key_id, 4096, PLAIN)}
    probes = (("obama", ids / "obama" / "obama2.jpg"), ("biden", ids / "biden" / "biden2.jpg"))
    for subject, path in probes:
        query = {"image": base64.b64encode(path.read_bytes()).decode(), "top_k": 1}
        match = tenant.post(f"/v1/collections/{col}/search", query).json()["matches"][0]
        assert match["subject_id"] == subject and match["sim"] >= 70

    report = rotate_template_key(runtime.access, runtime.models, tenant.app_id, bits=runtime.settings.template_bits)
    assert (report.reissued, report.pending) == (1, 1)
    new = (report.new_key_id, template_bits("sface"), template_version("sface"))
    assert new[1:] == (2048, SUPER_BIT)
    assert sizes() == {"obama": new, "biden": (old.key_id, 4096, PLAIN)}
    for subject, path in probes:
        query = {"image": base64.b64encode(path.read_bytes()).decode(), "top_k": 2}  # both sizes in play
        matches = tenant.post(f"/v1/collections/{col}/search", query).json()["matches"]
        assert matches[0]["subject_id"] == subject and matches[0]["sim"] >= 70
