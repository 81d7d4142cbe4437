"""Every route answers bad input with a 4xx and the envelope, never a 500."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from openkyc.api.app import api_routes, create_app
from openkyc.settings import Settings


def _routes() -> list[tuple[str, str]]:
    routes = api_routes(create_app(Settings(environment="test")))
    return [(method, path) for method, path, _ in routes if path.startswith(("/v1/", "/verify/"))]


BAD_BODIES: list[Any] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b"{}",
    b'{"image": 5, "video": [], "subject_id": {}, "top_k": "x"}',
    b'{"image": "'
    + base64.b64encode(b"not an image at all").decode().encode()
    + b'", "video": "AAAA", "image_a": "AAAA", "image_b": "AAAA", "document_image": "AAAA", "subject_id": "s", "redirect_url": "https://x.example/", "name": "n", "purpose": "nope", "text_version": "1", "dataset": "d"}',
    b'{"top_k": 1e309, "subject_id": "' + b"x" * 5000 + b'"}',
    b"\xff\xfe\x00garbage",
]


@pytest.mark.parametrize(("method", "path"), _routes())
def test_bad_input_never_gives_500(tenant: Any, method: str, path: str) -> None:
    concrete = (
        path.replace("{rule_id}", "rule-x")
        .replace("{collection_id}", "col-x")
        .replace("{subject_id}", "s-x")
        .replace("{verification_id}", "ver-x")
        .replace("{request_id}", "req-x")
        .replace("{biz_token}", "tok-x")
    )
    for raw in BAD_BODIES:
        headers = tenant.sign(method, concrete, raw, nonce=True)
        response = tenant.client.request(method, concrete, content=raw, headers=headers)
        assert 200 <= response.status_code < 500, (method, concrete, raw[:40], response.text[:200])
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"Error", "RequestId"} and body["Error"]["Code"]
