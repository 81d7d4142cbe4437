"""A stored verification result reaches the rule's webhook, signed, with ids and Result only."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from jobs.receiver import webhook_receiver
from openkyc.jobs import webhook_secret
from openkyc.jobs.webhooks import verify_signature

pytestmark = pytest.mark.slow


def test_liveness_result_is_posted_to_the_rules_webhook(tenant: Any, runtime: Any, shared_data: Path) -> None:
    clip = (shared_data / "grid-talking-face-videos" / "bbaf2n.mpg").read_bytes()
    with webhook_receiver() as receiver:
        rule = tenant.post("/v1/rules", {"name": "hooked", "config": {"webhook_url": receiver.url}})
        assert rule.status_code == 200, rule.text
        response = tenant.post(
            "/v1/liveness",
            {"video": base64.b64encode(clip).decode(), "rule_id": rule.json()["rule_id"], "subject_id": "user-42"},
        )
        assert response.status_code == 200, response.text
        assert receiver.arrived.wait(20)
    assert len(receiver.received) == 1
    got = receiver.received[0]
    secret = webhook_secret(runtime.keyring, tenant.app_id)
    timestamp, signature = got.headers["x-openkyc-timestamp"], got.headers["x-openkyc-signature"]
    assert verify_signature(secret, timestamp, got.body, signature)
    assert not verify_signature(secret, timestamp, got.body + b" ", signature)  # the body is signed
    assert not verify_signature(secret, str(int(timestamp) - 1), got.body, signature)  # and the time
    body = got.json
    assert body["verification_id"] == response.json()["verification_id"]
    assert body["Result"] == response.json()["Result"] and body["app_id"] == tenant.app_id
    assert body["kind"] == "liveness"
    assert b"user-42" not in got.body  # the customer's subject id is not in the notification

    # the delivery log, through the management API: one attempt, delivered, no personal data
    log = tenant.get("/v1/webhooks/deliveries")
    assert log.status_code == 200, log.text
    (entry,) = log.json()["deliveries"]
    assert entry["delivery_id"] == body["delivery_id"] and entry["event"] == "verification.result"
    assert (entry["state"], entry["attempts"], entry["last_status"]) == ("delivered", 1, 200)
    assert "user-42" not in log.text
