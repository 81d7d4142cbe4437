"""`openkyc audit verify`, the audit records of configuration, credentials and keys, and the ROPA."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update
from wiring_helpers import audit_events, cli_json

from openkyc.accounts import service as accounts
from openkyc.privacy.guards import REGISTRY
from openkyc.store.models.privacy import AuditRecord


def test_audit_verify_ok_then_broken(cli: Any, runtime: Any, tenant: Any) -> None:
    assert tenant.post("/v1/rules", {"name": "r1", "config": {}}).status_code == 200
    report = cli_json(cli("audit", "verify", "--json"))
    assert report["ok"] is True and report["records"] >= 2
    head = report["head"]
    assert head == f"{report['records']}:{report['head_hash']}"
    human = cli("audit", "verify", "--expected-head", head)
    assert human.exit_code == 0 and f"head {head}" in human.stdout

    with runtime.transaction() as session:
        session.execute(update(AuditRecord).where(AuditRecord.seq == 1).values(actor="someone-else"))
    broken = cli("audit", "verify", "--json")
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["first_bad_seq"] == 1 and json.loads(broken.stdout)["ok"] is False
    assert cli("audit", "verify").exit_code == 1


def test_audit_verify_detects_removed_newest_records(cli: Any, runtime: Any, tenant: Any, settings: Any) -> None:
    assert tenant.post("/v1/rules", {"name": "r1", "config": {}}).status_code == 200
    head = cli_json(cli("audit", "head", "--json"))
    assert head["seq"] >= 2
    report = cli_json(cli("audit", "verify", "--json"))
    assert head["head"] == report["head"] and report["checkpoints"] >= 1
    with runtime.transaction() as session:
        session.query(AuditRecord).filter(AuditRecord.seq == head["seq"]).delete()
    broken = cli("audit", "verify", "--json")  # the checkpoint outside the database names the removed record
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["first_bad_seq"] == head["seq"]
    assert f"a checkpoint names record {head['seq']}" in json.loads(broken.stdout)["reason"]
    settings.resolved_audit_checkpoint_file.unlink()  # with the checkpoints gone too, the head kept elsewhere
    assert cli("audit", "verify", "--expected-head", head["head"]).exit_code == 1
    assert "no checkpoint found" in cli("audit", "verify").stdout
    # after a restore, the operator keeps the old file as evidence and anchors the state restored
    assert cli_json(cli("audit", "checkpoint", "--json"))["seq"] == head["seq"] - 1
    assert cli_json(cli("audit", "verify", "--json"))["ok"] is True
    bad = cli("audit", "verify", "--expected-head", "nonsense")
    assert bad.exit_code == 2 and "InvalidParameterValue.ExpectedHead" in bad.output


def test_audit_head_and_checkpoint(cli: Any, runtime: Any, tenant: Any, settings: Any) -> None:
    head = cli_json(cli("audit", "head", "--json"))
    assert set(head) == {"seq", "hash", "time", "legacy_until", "mac", "head"}
    assert head["head"] == f"{head['seq']}:{head['hash']}" and head["legacy_until"] == 0
    human = cli("audit", "head")
    assert human.exit_code == 0 and f"head {head['head']}" in human.stdout and head["mac"] in human.stdout
    path = settings.resolved_audit_checkpoint_file
    lines = path.read_text().splitlines()
    written = cli_json(cli("audit", "checkpoint", "--json"))
    assert written == head
    after = path.read_text().splitlines()
    assert len(after) == len(lines) + 1 and json.loads(after[-1]) == {k: v for k, v in head.items() if k != "head"}

    with runtime.transaction() as session:
        session.execute(update(AuditRecord).where(AuditRecord.seq == 1).values(actor="someone-else"))
    refused = cli("audit", "checkpoint")
    assert refused.exit_code == 1 and "FailedOperation.AuditLogBroken" in refused.output
    assert len(path.read_text().splitlines()) == len(after)  # nothing anchored for a broken log


def test_rules_and_credentials_are_audited(runtime: Any, tenant: Any) -> None:
    rule_id = tenant.post("/v1/rules", {"name": "r2", "config": {}}).json()["rule_id"]
    assert tenant.put(f"/v1/rules/{rule_id}", {"name": "r2", "config": {"compare_threshold": 80}}).status_code == 200
    changes = [r.details for r in audit_events(runtime, "config_change")]
    assert changes == [
        {"action": "rule_create", "rule_id": rule_id, "version": 1},
        {"action": "rule_update", "rule_id": rule_id, "version": 2},
    ]
    with runtime.transaction() as session:
        issued = accounts.rotate_credential(session, runtime.keyring, tenant.secret_id, actor="test")
    events = [(r.details["action"], r.actor) for r in audit_events(runtime, "credential_event")]
    assert events[0] == ("create", "admin")  # the tenant fixture's credential
    assert events[1:] == [("create", "test"), ("disable", "test"), ("rotate", "test")]
    assert all("secret_key" not in json.dumps(r.details) for r in audit_events(runtime))
    assert issued.secret_key not in json.dumps([r.details for r in audit_events(runtime)])


def test_key_rotations_are_audited(cli: Any, runtime: Any, tenant: Any) -> None:
    out = cli_json(cli("keys", "rotate-data", "--json"))
    rotations = audit_events(runtime, "key_rotation")
    assert [r.details for r in rotations] == [{"key": "data", "active_data_key": out["active_data_key"]}]
    assert cli_json(cli("audit", "verify", "--json"))["ok"] is True


def test_ropa_cli_and_endpoint(cli: Any, tenant: Any, settings: Any) -> None:
    assert tenant.post("/v1/rules", {"name": "short", "config": {"retention": {"media_hours": 1}}}).status_code == 200
    md = cli("ropa")
    assert md.exit_code == 0, md.output
    assert settings.controller_name in md.stdout and "model_improvement" in md.stdout.lower().replace(" ", "_")
    as_json = json.loads(cli("ropa", "--format", "json").stdout)
    assert as_json["controller"]["name"] == settings.controller_name and len(as_json["policy_sha256"]) == 64
    overrides = as_json["retention_overrides"]
    assert overrides[0]["app_id"] == tenant.app_id and overrides[0]["overrides"]["face_image"] == 1.0
    assert "<html" in cli("ropa", "--format", "html").stdout.lower()
    assert cli("ropa", "--format", "pdf").exit_code == 2
    # the processing the law requires (the policy's obligations) is listed in every form
    assert [o["key"] for o in as_json["obligations"]] == ["retention", "subject_rights"]
    assert "GDPR Art. 5(1)(e)" in as_json["obligations"][0]["basis"]
    assert "(`subject_rights`)" in md.stdout and 'id="obligation-retention"' in cli("ropa", "--format", "html").stdout

    http = tenant.get("/v1/privacy/ropa?format=json")
    assert http.status_code == 200, http.text
    assert http.json()["obligations"] == as_json["obligations"]
    assert http.json()["processor"]["name"] == settings.processor_name
    assert [a["app_id"] for a in http.json()["retention_overrides"]] == [tenant.app_id]
    html = tenant.get("/v1/privacy/ropa?format=html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert 'id="obligation-subject_rights"' in html.text
    md_http = tenant.get("/v1/privacy/ropa")
    assert md_http.status_code == 200 and md_http.headers["content-type"].startswith("text/markdown")
    assert "Processing required by law (obligations)" in md_http.text
    assert tenant.get("/v1/privacy/ropa?format=pdf").status_code == 400


def test_every_personal_data_repository_requires_a_purpose() -> None:
    modules = REGISTRY.discover("openkyc")
    assert "openkyc.biometrics.repository" in modules
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in REGISTRY.classes}
    assert "openkyc.biometrics.repository.SubjectRepository" in names
    import openkyc.privacy.consent  # noqa: F401  (not a repositor* module: registered on import)

    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in REGISTRY.classes}
    assert "openkyc.privacy.consent.ConsentRepository" in names  # consent records: gated like the others
    assert REGISTRY.unguarded() == {}
