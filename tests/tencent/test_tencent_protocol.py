"""The Tencent-compatible endpoint's protocol in-process: envelope, status, dispatch, codes, prefix."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openkyc.accounts.signing import sign_request
from openkyc.api.app import create_app
from openkyc.api.tencent.cards import card_info, warn_codes
from openkyc.api.tencent.envelope import tencent_code
from openkyc.api.tencent.faceid import web_code


def call(
    client: Any,
    tenant: Any,
    action: str,
    params: Any,
    *,
    path: str = "/",
    service: str = "faceid",
    version: str = "2018-03-01",
    secret_key: str | None = None,
) -> Any:
    body = json.dumps(params).encode()
    headers = sign_request(
        tenant.secret_id,
        secret_key or tenant.secret_key,
        method="POST",
        path=path,
        host="testserver",
        body=body,
        timestamp=int(time.time()),
        service=service,
        extra_signed_headers={"X-TC-Nonce": str(time.perf_counter_ns())},
    )
    headers.update({"X-TC-Action": action, "X-TC-Version": version})
    return client.post(path, content=body, headers=headers)


def error_code(response: Any) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"  # what Tencent's SDK requires
    answer = response.json()["Response"]
    assert answer["RequestId"] == response.headers["x-request-id"]
    return str(answer["Error"]["Code"])


@pytest.mark.parametrize(
    ("action", "params", "kwargs", "expected"),
    [
        ("NoSuchAction", {}, {}, "InvalidAction"),
        ("CompareFaceLiveness", {}, {"version": "2017-01-01"}, "NoSuchVersion"),
        ("MLIDPassportOCR", {}, {"service": "faceid", "version": "2018-11-19"}, "AuthFailure.InvalidAuthorization"),
        ("CompareFaceLiveness", {"LivenessType": "SILENT"}, {}, "MissingParameter"),
        ("CompareFaceLiveness", {"Nope": 1}, {}, "UnknownParameter"),
        ("CompareFaceLiveness", [], {}, "InvalidParameter"),
        (
            "CompareFaceLiveness",
            {"LivenessType": "LIP", "ImageBase64": "AA", "VideoBase64": "AA"},
            {},
            "InvalidParameterValue",
        ),
        ("CompareFaceLiveness", {}, {"service": "openkyc"}, "AuthFailure.InvalidAuthorization"),
        ("CompareFaceLiveness", {}, {"secret_key": "wrong"}, "AuthFailure.SignatureFailure"),
        ("DetectAIFakeFaces", {"FaceInput": "x"}, {}, "UnsupportedOperation"),
        ("GetFaceIdTokenIntl", {"CheckMode": "compare"}, {}, "MissingParameter"),
        ("GetFaceIdTokenIntl", {"CheckMode": "liveness", "Image": "AAAA"}, {}, "InvalidParameterValue"),
        ("GetFaceIdTokenIntl", {"SecureLevel": "9"}, {}, "InvalidParameterValue"),
        ("ApplySdkVerificationToken", {"IdCardType": "ThailandIDCard"}, {}, "UnsupportedOperation"),
        ("ApplySdkVerificationToken", {"CheckMode": 1, "IdCardType": "Nope"}, {}, "InvalidParameterValue"),
        (
            "ApplyWebVerificationBizTokenIntl",
            {"RedirectURL": "https://x.example/", "Config": {"CheckMode": 4, "IDCardType": "MainlandIDCard"}},
            {},
            "UnsupportedOperation",
        ),
        ("ApplySdkVerificationToken", {"CheckMode": 2}, {}, "MissingParameter"),
        ("GetFaceIdResultIntl", {"SdkToken": "no-such-token"}, {}, "InvalidParameterValue.BizTokenIllegal"),
        ("GetSdkVerificationResult", {"SdkToken": "no-such-token"}, {}, "InvalidParameterValue.BizTokenIllegal"),
        ("GetLivenessResult", {}, {}, "MissingParameter"),
        ("GenerateReflectSequence", {}, {}, "UnsupportedOperation"),
        ("RecognizeThaiIDCardOCR", {}, {"service": "ocr", "version": "2018-11-19"}, "UnsupportedOperation"),
        (
            "MLIDPassportOCR",
            {"ImageUrl": "https://x.example/a.jpg"},
            {"service": "ocr", "version": "2018-11-19"},
            "UnsupportedOperation",
        ),
        ("GetWebVerificationResultIntl", {"BizToken": "no-such-token"}, {}, "InvalidParameterValue.BizTokenIllegal"),
        ("ApplyWebVerificationBizTokenIntl", {"RedirectURL": "ftp://x"}, {}, "InvalidParameterValue.RedirectUrl"),
        (
            "ApplyWebVerificationBizTokenIntl",
            {"RedirectURL": "https://x.example/", "RuleId": "nope", "Config": {"CheckMode": 3}},
            {},
            "InvalidParameterValue.RuleIdNotExist",
        ),
    ],
)
def test_refusals_are_tencent_errors_with_http_200(
    tenant: Any, action: str, params: Any, kwargs: dict[str, Any], expected: str
) -> None:
    assert error_code(call(tenant.client, tenant, action, params, **kwargs)) == expected


def test_unsigned_and_oversized_calls_are_refused_in_tencent_shape(tenant: Any) -> None:
    bare = tenant.client.post("/", content=b"{}", headers={"Content-Type": "application/json", "X-TC-Action": "X"})
    assert error_code(bare) == "AuthFailure.InvalidAuthorization"
    image = "A" * (4 * 1024 * 1024 + 8)  # 3 MB + decoded
    params = {"ImageBase64": image, "VideoBase64": "AAAA", "LivenessType": "SILENT"}
    assert error_code(call(tenant.client, tenant, "CompareFaceLiveness", params)) == "FailedOperation.ImageSizeTooLarge"


def test_a_get_on_root_is_not_the_tencent_endpoint(tenant: Any) -> None:
    response = tenant.client.get("/")
    assert response.status_code in {404, 405}
    assert "Error" in response.json()


@pytest.fixture
def prefixed(settings: Any) -> Iterator[tuple[TestClient, Any]]:
    from openkyc.accounts import service as accounts
    from openkyc.runtime import Runtime

    configured = settings.model_copy(update={"tencent_path_prefix": "/tencent"})
    runtime = Runtime.open(configured, migrate=False)
    try:
        with runtime.transaction() as session:
            account = accounts.create_account(session, "prefixed-account")
            app = accounts.create_app(session, account.id, "prefixed")
            issued = accounts.create_credential(session, runtime.keyring, app.id)
        tenant = SimpleNamespace(secret_id=issued.secret_id, secret_key=issued.secret_key)
        with TestClient(create_app(configured, runtime)) as client:
            yield client, tenant
    finally:
        runtime.close()


def test_the_prefix_serves_the_same_actions(prefixed: tuple[TestClient, Any]) -> None:
    client, tenant = prefixed
    assert error_code(call(client, tenant, "DetectAIFakeFaces", {}, path="/tencent")) == "UnsupportedOperation"
    assert error_code(call(client, tenant, "NoSuchAction", {}, path="/tencent")) == "InvalidAction"


@pytest.mark.parametrize(
    ("openkyc", "service", "tencent"),
    [
        ("InvalidParameterValue.VideoDecodeFailed", "faceid", "FailedOperation.VideoDecodeFailed"),
        ("FailedOperation.LivessNoFace", "faceid", "FailedOperation.ActionNodetectFace"),
        ("FailedOperation.DocumentNotFound", "ocr", "FailedOperation.ImageNoIdCard"),
        ("ResourceNotFound.Rule", "ocr", "InvalidParameterValue.RuleIdNotExist"),
        ("FailedOperation.LifePhotoDetectNoFaces", "faceid", "FailedOperation.LifePhotoDetectNoFaces"),
        ("RequestLimitExceeded.MonthlyQuota", "faceid", "RequestLimitExceeded"),
    ],
)
def test_codes_in_tencent_names(openkyc: str, service: str, tencent: str) -> None:
    assert tencent_code(openkyc, service) == tencent


@pytest.mark.parametrize(
    ("result", "code"),
    [
        ("Success", 0),
        ("FailedOperation.CompareLowSimilarity", 2016),
        ("FailedOperation.LivessDetectFail", 1005),
        ("FailedOperation.ActionCloseEye", 1005),
        ("FailedOperation.LivessMultiFaces", 2012),
        ("FailedOperation.LivessFaceLost", 1004),
    ],
)
def test_web_error_codes(result: str, code: int) -> None:
    assert web_code(result)[0] == code


def test_every_action_has_an_error_list_in_the_docs() -> None:
    """docs/tencent.md lists, for every action served at POST /, every code the action can answer."""
    from pathlib import Path

    from openkyc.api.tencent.errorlists import ACTION_ERRORS, COMMON
    from openkyc.api.tencent.routes import ACTIONS

    assert set(ACTION_ERRORS) == set(ACTIONS)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "tencent.md").read_text()
    section = doc.split("## Error codes per action", 1)[1].split("\n## ", 1)[0]
    lines = {line.split("`")[1]: line for line in section.splitlines() if line.startswith("- `")}
    assert all(f"`{code}`" in section for code in COMMON)
    for action, codes in ACTION_ERRORS.items():
        assert action in lines, action
        missing = [code for code in codes if code not in COMMON and f"`{code}`" not in lines[action]]
        assert not missing, (action, missing)


def test_the_action_table_says_what_each_action_does() -> None:
    """docs/tencent.md's action table: every action once, with the support the code declares."""
    import re
    from pathlib import Path

    from openkyc.api.tencent.routes import ACTIONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "tencent.md").read_text()
    table = doc.split("## Actions", 1)[1].split("\n\n", 2)[1]
    documented: dict[str, str] = {}
    for row in table.splitlines()[2:]:
        cells = [cell.strip() for cell in row.split("|")]
        for name in re.findall(r"`(\w+)`", cells[1]):
            assert name not in documented, name
            documented[name] = cells[3]
    assert documented == {name: action.support for name, action in ACTIONS.items()}


def test_warnings_become_warn_card_infos() -> None:
    assert warn_codes(["WarnBlurred", "WarnTooDark", "WarnGlare", "WarnIncomplete"]) == [-9108, -9107, -9101]


def test_document_failures_are_code_4_with_openkyc_reason() -> None:
    """Tencent's hosted-flow tables have no document codes: 4, with the reason (docs/tencent.md)."""
    assert web_code("FailedOperation.DocumentExpired") == (4, "The document has expired.")
    assert web_code("FailedOperation.MrzCheckFailed")[0] == 4
    assert web_code("FailedOperation.DocumentTypeNotAllowed") == (4, "This type of document is not accepted.")


@pytest.mark.parametrize(
    ("rule_type", "key", "values"),
    [
        ("HK_ID", "HKIDCard", {"IdNum": "A1234563", "EnName": "CHAN TAI MAN", "Birthday": "1990-01-02"}),
        ("MY_MYKAD", "MLIDCard", {"ID": "A1234563", "Name": "CHAN TAI MAN", "Type": "MyKad"}),
        ("SG_NRIC", "SingaporeIDCard", {"ID": "A1234563", "EnName": "CHAN TAI MAN", "FullName": "CHAN TAI MAN"}),
        ("ID_NIK", "IndonesiaIDCard", {"NIK": "A1234563", "Nama": "CHAN TAI MAN"}),
        ("TD1", "GeneralCard", {"LicenseNumber": "A1234563", "LastName": "CHAN", "FirstName": "TAI MAN"}),
        ("GENERIC_ID", None, {}),
    ],
)
def test_card_info_takes_the_shape_of_the_card_read(rule_type: str, key: str | None, values: dict[str, Any]) -> None:
    fields = {
        "document_number": "A1234563",
        "name": "CHAN TAI MAN",
        "surname": "CHAN",
        "given_names": "TAI MAN",
        "birth_date_iso": "1990-01-02",
    }
    result = {"details": {"document": {"rule_type": rule_type}}, "identification": fields}
    card = card_info(result)
    if key is None:
        assert card is None
        return
    assert card is not None and list(card) == [key]
    assert {name: card[key][name] for name in values} == values
    assert card_info({**result, "identification": None}) is None  # the fields expired


BAD_PARAMS: list[Any] = [
    None,
    [],
    "text",
    {"ImageBase64": 5},
    {"ImageBase64": "%%%", "VideoBase64": "%%%", "LivenessType": "SILENT"},
    {"ImageBase64": "AAAA", "VideoBase64": "AAAA", "LivenessType": "SILENT"},
    {"ImageBase64": "AAAA", "VideoBase64": "AAAA", "LivenessType": "ACTION", "ValidateData": "9"},
    {"ImageBase64": "AAAA", "VideoBase64": "AAAA", "LivenessType": "REFLECTION"},
    {"ImageBase64": "AAAA", "VideoBase64": "AAAA", "LivenessType": "REFLECTION", "ValidateData": "nope"},
    {"RedirectURL": "https://x.example/", "Config": "x"},
    {"RedirectURL": "https://x.example/", "Config": {"CheckMode": "a"}},
    {"RedirectURL": "https://x.example/", "CompareImageBase64": "AAAA"},
    {"RedirectURL": "https://x.example/", "Extra": "x" * 1001, "Config": {"CheckMode": 3}},
    {"BizToken": {}},
    {"BizToken": "x" * 500},
]


@pytest.mark.parametrize(
    ("action", "service"),
    [
        ("CompareFaceLiveness", "faceid"),
        ("ApplyWebVerificationBizTokenIntl", "faceid"),
        ("GetWebVerificationResultIntl", "faceid"),
        ("MLIDPassportOCR", "ocr"),
        ("HKIDCardOCR", "ocr"),
    ],
)
def test_bad_input_is_never_an_internal_error(runtime: Any, tenant: Any, action: str, service: str) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "privacy_api"))
    from gate_fakes import fake_pool

    runtime.components["models"] = fake_pool()
    version = "2018-11-19" if service == "ocr" else "2018-03-01"
    for params in BAD_PARAMS:
        response = call(tenant.client, tenant, action, params, service=service, version=version)
        assert response.status_code == 200
        answer = response.json()["Response"]
        if "Error" in answer:
            assert not answer["Error"]["Code"].startswith("InternalError"), (params, answer)
        else:  # only a valid call may succeed
            assert isinstance(params, dict)
