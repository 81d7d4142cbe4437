"""Effects of the ``OPENKYC_*`` settings that no other test exercised: each changes what it says.

(The others are exercised where their feature is tested: limits in tests/api/test_limits.py, slow
clients in test_slow_clients.py, Redis in tests/jobs, workers in tests/jobs/test_cli.py, trusted
proxies in tests/api/test_ip_allow_list.py, the price list in tests/usage/test_bills.py, ...; and
``tests/test_settings_walk.py`` fails for any documented setting that no code reads.)
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from openkyc.accounts import service as accounts
from openkyc.api.app import create_app
from openkyc.logs import make_handler
from openkyc.privacy.crypto import write_master_key_file
from openkyc.runtime import Runtime


def _served(settings: Any, tenant: Any, **changes: Any) -> tuple[Runtime, TestClient, Any]:
    """A runtime and app with ``changes``, and a signing client (``tenant``'s class) of a new app."""
    changed = settings.model_copy(update=changes)
    runtime = Runtime.open(changed, migrate=False)
    with runtime.transaction() as session:
        account = accounts.create_account(session, "effects")
        app = accounts.create_app(session, account.id, "effects")
        issued = accounts.create_credential(session, runtime.keyring, app.id)
    client = TestClient(create_app(changed, runtime), raise_server_exceptions=False)
    return runtime, client, type(tenant)(account.id, app.id, issued.secret_id, issued.secret_key, client)


def test_signature_window_seconds(settings: Any, tenant: Any) -> None:
    runtime, client, tenant = _served(settings, tenant, signature_window_seconds=60)
    try:
        with client:
            old = int(time.time()) - 120  # inside the default 300 s, outside 60 s
            answer = client.get("/v1/account", headers=tenant.sign("GET", "/v1/account", timestamp=old))
            assert answer.json()["Error"]["Code"] == "AuthFailure.SignatureExpire"
            fresh = client.get("/v1/account", headers=tenant.sign("GET", "/v1/account"))
            assert fresh.status_code == 200
    finally:
        runtime.close()


def test_public_base_url(settings: Any, tenant: Any) -> None:
    runtime, client, tenant = _served(settings, tenant, public_base_url="https://kyc.example.com/")
    try:
        with client:
            created = tenant.post("/v1/sessions", {"redirect_url": "https://shop.example/done"}).json()
            assert created["verification_url"] == f"https://kyc.example.com/verify/{created['biz_token']}"
    finally:
        runtime.close()


def test_model_pool_settings(settings: Any) -> None:
    runtime = Runtime.open(
        settings.model_copy(update={"model_pool_size": 3, "model_queue_size": 7, "model_queue_timeout_seconds": 4.5}),
        migrate=False,
    )
    try:
        pool = runtime.models
        assert (pool.size, pool.queue_size, pool.timeout_s) == (3, 7, 4.5)
    finally:
        runtime.close()


def test_master_key_file(settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "kyc.key"
    master = write_master_key_file(path)
    runtime = Runtime.open(settings.model_copy(update={"master_key": None, "master_key_file": path}), migrate=False)
    try:
        assert runtime.master_key.key_id == master.key_id
    finally:
        runtime.close()


def test_controller_contact_in_the_record_of_processing(settings: Any) -> None:
    from openkyc.privacy.service import record_of_processing

    runtime = Runtime.open(settings.model_copy(update={"controller_contact": "privacy@bank.example"}), migrate=False)
    try:
        assert (
            json.loads(record_of_processing(runtime.access, runtime.settings, "json"))["controller"]["contact"]
            == "privacy@bank.example"
        )
    finally:
        runtime.close()


def test_audit_checkpoint_file_and_every(settings: Any, tmp_path: Path, tenant: Any) -> None:
    path = tmp_path / "anchors" / "cp.jsonl"
    runtime, client, tenant = _served(settings, tenant, audit_checkpoint_file=path, audit_checkpoint_every=2)
    try:
        with client:
            for index in range(4):  # each rule creation writes one config_change audit record
                assert tenant.post("/v1/rules", {"name": f"r{index}", "config": {}}).status_code == 200
        lines = path.read_text().splitlines()
        assert lines, "no checkpoint written to OPENKYC_AUDIT_CHECKPOINT_FILE"
        sequences = [json.loads(line)["seq"] for line in lines]
        assert all(seq % 2 == 0 for seq in sequences[1:]), sequences  # every 2 records (after the first)
    finally:
        runtime.close()


def test_log_format(capsys: Any) -> None:
    for fmt, looks_like_json in (("json", True), ("console", False)):
        logger = logging.getLogger(f"openkyc.effects.{fmt}")
        handler = make_handler(__import__("sys").stderr, fmt)
        logger.addHandler(handler)
        try:
            logger.warning("hello")
        finally:
            logger.removeHandler(handler)
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert line.startswith("{") is looks_like_json, line


def test_a_placeholder_master_key_is_refused_outside_tests() -> None:
    import pytest

    from openkyc.settings import Settings

    with pytest.raises(ValueError, match="placeholder"):
        Settings(master_key="changeme", environment="production")
    assert Settings(master_key=base64.b64encode(secrets.token_bytes(32)).decode(), environment="test")
