"""A real ``openkyc serve`` for the Tencent SDK tests, and Tencent's official clients pointed at it.

The server is the one of ``tests/server`` (its harness), started once for the module on a fresh
database; the clients are ``tencentcloud-sdk-python-intl-en``'s ``FaceidClient`` and ``OcrClient``
with ``HttpProfile(endpoint="127.0.0.1:PORT", scheme="http")`` and the credential ``openkyc init``
made: nothing but the endpoint and the credential differs from a call to Tencent Cloud.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from server_harness import Credential, ServerProcess

from dbhelpers import copy_sqlite_template


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

        http = HttpProfile(endpoint=self.endpoint, reqTimeout=300)
        http.scheme = "http"
        return ClientProfile(httpProfile=http)

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
