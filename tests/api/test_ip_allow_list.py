"""A rule's ``security.ip_allow_list``: every route that takes a rule refuses other client addresses.

The address is the gateway's resolved client address (the socket peer, or ``X-Forwarded-For``
behind ``OPENKYC_TRUSTED_PROXIES``). The refusal comes before any model runs or anything is stored,
so these tests need no models: a refused call never reads its (bogus) image or video.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from ipaddress import ip_network
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from openkyc.config.rules import Security
from openkyc.store.models.verification import VerificationSession
from openkyc.store.subject_keys import subject_keys_for

ALLOWED_IP = "10.1.2.3"
REFUSED_IP = "192.0.2.7"
MEDIA = "AAAA"  # valid base64, never decoded when the address is refused
DENIED = "UnauthorizedOperation.IpNotAllowed"


def _as(tenant: Any, address: str, **headers: str) -> Any:
    """The tenant, calling from ``address`` (the socket peer of a second client on the same app)."""
    client = TestClient(tenant.client.app, client=(address, 40000), raise_server_exceptions=False, headers=headers)
    return dataclasses.replace(tenant, client=client)


@pytest.fixture
def restricted(tenant: Any) -> Iterator[tuple[Any, str]]:
    created = tenant.post("/v1/rules", {"name": "office", "config": {"security": {"ip_allow_list": ["10.0.0.0/8"]}}})
    assert created.status_code == 200, created.text
    yield tenant, created.json()["rule_id"]


def _calls(rule_id: str, collection_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("/v1/faces/compare", {"image_a": MEDIA, "image_b": MEDIA, "rule_id": rule_id}),
        ("/v1/liveness", {"video": MEDIA, "rule_id": rule_id}),
        ("/v1/verifications/selfie", {"video": MEDIA, "image": MEDIA, "rule_id": rule_id}),
        ("/v1/verifications/identity", {"video": MEDIA, "document_image": MEDIA, "rule_id": rule_id}),
        ("/v1/documents/ocr", {"image": MEDIA, "rule_id": rule_id}),
        ("/v1/collections", {"name": "staff", "rule_id": rule_id, "embedder": "sface"}),
        (f"/v1/collections/{collection_id}/subjects", {"subject_id": "s1", "image": MEDIA, "rule_id": rule_id}),
        (f"/v1/collections/{collection_id}/search", {"image": MEDIA, "rule_id": rule_id}),
        ("/v1/sessions", {"redirect_url": "https://shop.example/done", "rule_id": rule_id}),
    ]


def test_every_route_with_a_rule_refuses_an_address_outside_the_list(restricted: tuple[Any, str]) -> None:
    tenant, rule_id = restricted
    collection_id = tenant.post("/v1/collections", {"name": "open"}).json()["collection_id"]
    outsider = _as(tenant, REFUSED_IP)
    for path, payload in _calls(rule_id, collection_id):
        answer = outsider.post(path, payload)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["Error"]["Code"] == DENIED, path


def test_an_address_inside_the_list_gets_past_the_check(restricted: tuple[Any, str]) -> None:
    tenant, rule_id = restricted
    insider = _as(tenant, ALLOWED_IP)
    session = insider.post("/v1/sessions", {"redirect_url": "https://shop.example/done", "rule_id": rule_id})
    assert session.status_code == 200, session.text
    collection = insider.post("/v1/collections", {"name": "staff", "rule_id": rule_id})
    assert collection.status_code == 200, collection.text


def test_a_rule_without_a_list_allows_everyone(tenant: Any) -> None:
    rule_id = tenant.post("/v1/rules", {"name": "open", "config": {}}).json()["rule_id"]
    answer = _as(tenant, REFUSED_IP).post("/v1/sessions", {"redirect_url": "https://a.example/x", "rule_id": rule_id})
    assert answer.status_code == 200, answer.text


def test_hosted_submit_is_refused_outside_the_list_and_uses_no_attempt(
    restricted: tuple[Any, str], runtime: Any
) -> None:
    tenant, rule_id = restricted
    token = (
        _as(tenant, ALLOWED_IP)
        .post("/v1/sessions", {"redirect_url": "https://shop.example/done", "rule_id": rule_id})
        .json()["biz_token"]
    )
    end_user = TestClient(tenant.client.app, client=(REFUSED_IP, 50000), raise_server_exceptions=False)
    for path, payload in ((f"/verify/{token}/submit", {"video": MEDIA}), (f"/verify/{token}/sequence", None)):
        answer = end_user.post(path, json=payload)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["Error"]["Code"] == DENIED
    with runtime.transaction() as session:
        attempts = session.scalar(
            select(VerificationSession.attempts).where(
                VerificationSession.biz_token == subject_keys_for(session).token_ref(token)
            )
        )
    assert attempts == 0
    # an allowed end user gets past the address check (a bogus video is then refused as a bad video)
    inside = TestClient(tenant.client.app, client=(ALLOWED_IP, 50000), raise_server_exceptions=False)
    answer = inside.post(f"/verify/{token}/submit", json={"video": MEDIA})
    assert answer.json()["Error"]["Code"] != DENIED


def test_the_address_behind_a_trusted_proxy_is_the_one_checked(settings: Any, tenant: Any) -> None:
    from openkyc.accounts import service as accounts
    from openkyc.api.app import create_app
    from openkyc.runtime import Runtime

    proxied = settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.0/8")]})
    runtime = Runtime.open(proxied, migrate=False)
    try:
        with runtime.transaction() as session:
            account = accounts.create_account(session, "proxied")
            app_row = accounts.create_app(session, account.id, "proxied")
            issued = accounts.create_credential(session, runtime.keyring, app_row.id)
        with TestClient(create_app(proxied, runtime), client=("127.0.0.1", 1), raise_server_exceptions=False) as c:
            tenant = type(tenant)(account.id, app_row.id, issued.secret_id, issued.secret_key, c)
            rule_id = tenant.post(
                "/v1/rules", {"name": "office", "config": {"security": {"ip_allow_list": ["10.0.0.0/8"]}}}
            ).json()["rule_id"]
            body = {"redirect_url": "https://shop.example/done", "rule_id": rule_id}
            behind = _as(tenant, "127.0.0.1", **{"X-Forwarded-For": f"{ALLOWED_IP}, 127.0.0.5"})
            assert behind.post("/v1/sessions", body).status_code == 200
            spoofed = _as(tenant, "127.0.0.1", **{"X-Forwarded-For": f"{ALLOWED_IP}, {REFUSED_IP}"})
            assert spoofed.post("/v1/sessions", body).json()["Error"]["Code"] == DENIED
            # the proxy itself (no header) is not in the list
            assert tenant.post("/v1/sessions", body).json()["Error"]["Code"] == DENIED
            with runtime.transaction() as session:
                assert session.scalar(select(func.count()).select_from(VerificationSession)) == 1
    finally:
        runtime.close()


@pytest.mark.parametrize(
    ("networks", "address", "allowed"),
    [
        ([], None, True),
        ([], "not-an-address", True),
        (["10.0.0.0/8"], "10.255.0.1", True),
        (["10.0.0.0/8"], "11.0.0.1", False),
        (["10.0.0.0/8"], None, False),
        (["10.0.0.0/8"], "testclient", False),
        (["10.0.0.0/8"], "::ffff:10.0.0.9", True),
        (["2001:db8::/32"], "2001:db8::1", True),
        (["2001:db8::/32"], "10.0.0.1", False),
        (["192.0.2.0/24", "10.0.0.0/8"], "192.0.2.200", True),
    ],
)
def test_allows(networks: list[str], address: str | None, allowed: bool) -> None:
    assert Security.model_validate({"ip_allow_list": networks}).allows(address) is allowed
