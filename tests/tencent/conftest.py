"""A real ``openkyc serve`` for the Tencent SDK tests, and Tencent's official clients pointed at it.

The server is the one of ``tests/server`` (its harness), started once for the module on a fresh
database; the clients are ``tencentcloud-sdk-python-intl-en``'s ``FaceidClient`` and ``OcrClient``
with ``HttpProfile(endpoint="127.0.0.1:PORT", scheme="http")`` and the credential ``openkyc init``
made: nothing but the endpoint and the credential differs from a call to Tencent Cloud.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

import sdk_types
from server_harness import Credential, ServerProcess

from dbhelpers import copy_sqlite_template
from openkyc.api.tencent.errorlists import errors_of


class TencentServer:
    def __init__(self, process: ServerProcess, credential: Credential) -> None:
        self.process = process
        self.credential = credential

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.process.port}"

    def profile(self) -> Any:
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.common.retry import StandardRetryer

        http = HttpProfile(endpoint=self.endpoint, reqTimeout=300)
        http.scheme = "http"
        # what a Tencent integration under load configures: the SDK's own retryer, which retries
        # RequestLimitExceeded (OpenKYC's answer while every model instance is busy) after 1, 2, 4 s
        return ClientProfile(httpProfile=http, retryer=StandardRetryer(max_attempts=4))

    def credentials(self) -> Any:
        from tencentcloud.common import credential

        return credential.Credential(self.credential.secret_id, self.credential.secret_key)

    def faceid(self) -> Any:
        from tencentcloud.faceid.v20180301 import faceid_client

        return faceid_client.FaceidClient(self.credentials(), "ap-singapore", self.profile())

    def ocr(self) -> Any:
        from tencentcloud.ocr.v20181119 import ocr_client

        return ocr_client.OcrClient(self.credentials(), "ap-singapore", self.profile())


@pytest.fixture(scope="module")
def tencent_server(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TencentServer]:
    pytest.importorskip("tencentcloud.faceid.v20180301.faceid_client")
    url = copy_sqlite_template(_sqlite_template, tmp_path_factory.mktemp("tencent"))
    data_dir = Path(url.removeprefix("sqlite:///")).parent
    process = ServerProcess(data_dir=data_dir, database_url=url)
    credential = process.init()
    process.start()
    try:
        yield TencentServer(process, credential)
    finally:
        process.stop()


def _answer(content: bytes) -> dict[str, Any] | None:
    try:
        answer = json.loads(content)["Response"]
    except (ValueError, KeyError, TypeError):
        return None
    return answer if isinstance(answer, dict) else None


def _code(content: bytes) -> str | None:
    answer = _answer(content)
    error = answer.get("Error") if answer is not None else None
    return str(error["Code"]) if isinstance(error, dict) and "Code" in error else None


@pytest.fixture(autouse=True)
def _answers_stay_in_the_error_lists(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every error a Tencent test gets (through Tencent's SDK or the in-process client) is in the
    action's documented list (openkyc.api.tencent.errorlists), and every other answer has the
    field types of Tencent's SDK model of the action (sdk_types): the test fails otherwise."""
    answered: list[tuple[str, str]] = []
    mistyped: list[str] = []
    from starlette.testclient import TestClient

    def record(action: str, content: bytes) -> None:
        code = _code(content)
        if code:
            answered.append((action, code))
        answer = _answer(content)
        if answer is not None:
            mistyped.extend(sdk_types.problems(action, answer))

    post = TestClient.post

    def recording_post(self: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        response = post(self, url, *args, **kwargs)
        action = (kwargs.get("headers") or {}).get("X-TC-Action")
        if action:
            record(action, response.content)
        return response

    monkeypatch.setattr(TestClient, "post", recording_post)
    try:
        from tencentcloud.common.abstract_client import AbstractClient
    except ImportError:
        AbstractClient = None
    if AbstractClient is not None:
        call = AbstractClient._call

        def recording_call(self: Any, action: str, *args: Any, **kwargs: Any) -> Any:
            response = call(self, action, *args, **kwargs)
            record(action, response.content)
            return response

        monkeypatch.setattr(AbstractClient, "_call", recording_call)
    yield
    unlisted = sorted({(a, c) for a, c in answered if c not in errors_of(a) and a != "NoSuchAction"})
    assert not unlisted, f"codes answered that the actions' error lists lack: {unlisted}"
    assert not mistyped, "answers that Tencent's SDK models type otherwise:\n" + "\n".join(sorted(set(mistyped)))
