"""Tencent Cloud's official Python SDK (intl-en) against a real ``openkyc serve``, with real media.

Only the endpoint and the credential differ from a call to Tencent Cloud: the clients are
``FaceidClient`` and ``OcrClient`` with ``HttpProfile(endpoint="127.0.0.1:PORT")`` and
``scheme="http"``. The answers are the SDK's own response models.
"""

from __future__ import annotations

import base64
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "liveness"))

from attacks import still_attack
from server_data import first_frame_jpeg

pytestmark = pytest.mark.slow

models = pytest.importorskip("tencentcloud.faceid.v20180301.models")
ocr_models = pytest.importorskip("tencentcloud.ocr.v20181119.models")
sdk_errors = pytest.importorskip("tencentcloud.common.exception.tencent_cloud_sdk_exception")

CLIP = "swiz3n.mpg"
LIVENESS_FAILURES = ("FailedOperation.Liv", "FailedOperation.Silent", "FailedOperation.Action")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def compare_request(video: bytes, image: bytes, liveness: str = "SILENT") -> Any:
    request = models.CompareFaceLivenessRequest()
    request.VideoBase64 = b64(video)
    request.ImageBase64 = b64(image)
    request.LivenessType = liveness
    return request


@pytest.fixture(scope="module")
def clip(shared_data: Path) -> tuple[bytes, bytes]:
    """A live GRID clip and a photo of the same person (the clip's first frame)."""
    path = shared_data / "grid-talking-face-videos" / CLIP
    return path.read_bytes(), first_frame_jpeg(path)


@pytest.fixture(scope="module")
def obama(shared_data: Path) -> bytes:
    return (shared_data / "facerec-examples" / "identities" / "obama" / "obama.jpg").read_bytes()


def test_live_clip_and_matching_photo_succeed(tencent_server: Any, clip: tuple[bytes, bytes]) -> None:
    video, photo = clip
    answer = tencent_server.faceid().CompareFaceLiveness(compare_request(video, photo))
    assert answer.Result == "Success", answer.Description
    assert answer.Sim >= 70
    assert answer.RequestId
    frame = cv2.imdecode(np.frombuffer(base64.b64decode(answer.BestFrameBase64), np.uint8), cv2.IMREAD_COLOR)
    assert frame is not None and frame.shape[0] > 0


def test_another_person_is_low_similarity(tencent_server: Any, clip: tuple[bytes, bytes], obama: bytes) -> None:
    video, _ = clip
    answer = tencent_server.faceid().CompareFaceLiveness(compare_request(video, obama))
    assert answer.Result == "FailedOperation.CompareLowSimilarity", answer.Description
    assert answer.Sim < 70


def test_a_photo_played_as_video_fails_liveness(tencent_server: Any, obama: bytes) -> None:
    photo = cv2.imdecode(np.frombuffer(obama, np.uint8), cv2.IMREAD_COLOR)
    answer = tencent_server.faceid().CompareFaceLiveness(compare_request(still_attack(photo, seed=3), obama))
    assert answer.Result.startswith(LIVENESS_FAILURES), answer.Result
    assert answer.Result != "Success"


def test_passport_specimen_gives_its_mrz_fields(tencent_server: Any, shared_data: Path) -> None:
    folder = shared_data / "mrz-specimens"
    truth = next(e for e in json.loads((folder / "ground_truth.json").read_text()) if e["image"] == "td3.jpg")
    request = ocr_models.MLIDPassportOCRRequest()
    request.ImageBase64 = b64((folder / "td3.jpg").read_bytes())
    answer = tencent_server.ocr().MLIDPassportOCR(request)
    fields = truth["fields"]
    assert answer.ID == fields["document_number"]
    assert answer.Surname == fields["surname"]
    assert answer.GivenName == fields["given_names"]
    assert answer.Name == f"{fields['surname']} {fields['given_names']}"
    assert answer.DateOfBirth == "1974-08-12"
    assert answer.DateOfExpiration == "2012-04-15"
    assert answer.Sex == fields["sex"]
    assert answer.Nationality == fields["nationality"]
    assert answer.IssuingCountry == fields["issuing_state"]
    assert answer.Type == "P"
    assert [answer.CodeSet, answer.CodeCrc] == truth["mrz"]
    assert answer.IsComplete is True


def test_an_id_card_action_refuses_a_passport(tencent_server: Any, shared_data: Path) -> None:
    request = ocr_models.HKIDCardOCRRequest()
    request.ImageBase64 = b64((shared_data / "mrz-specimens" / "td3.jpg").read_bytes())
    with pytest.raises(sdk_errors.TencentCloudSDKException) as caught:
        tencent_server.ocr().HKIDCardOCR(request)
    assert caught.value.code == "FailedOperation.NoHKIDCard"
    assert caught.value.requestId


def _sdk_error(call: Any) -> Any:
    with pytest.raises(sdk_errors.TencentCloudSDKException) as caught:
        call()
    return caught.value


def test_errors_arrive_as_the_sdk_expects(tencent_server: Any, obama: bytes) -> None:
    """Refusals are Tencent's codes with a RequestId, raised by the SDK itself (HTTP 200 envelope)."""
    faceid = tencent_server.faceid()
    missing = models.CompareFaceLivenessRequest()
    missing.ImageBase64 = b64(obama)
    missing.LivenessType = "SILENT"
    assert _sdk_error(lambda: faceid.CompareFaceLiveness(missing)).code == "MissingParameter"

    big = compare_request(b"\x00" * 16, b"\xff" * (3 * 1024 * 1024 + 10))
    assert _sdk_error(lambda: faceid.CompareFaceLiveness(big)).code == "FailedOperation.ImageSizeTooLarge"

    not_a_video = compare_request(b"this is not a video at all" * 40, obama)
    assert _sdk_error(lambda: faceid.CompareFaceLiveness(not_a_video)).code == "FailedOperation.VideoDecodeFailed"

    fake = _sdk_error(lambda: faceid.DetectAIFakeFaces(models.DetectAIFakeFacesRequest()))
    assert fake.code == "UnsupportedOperation" and "no such model" in fake.message

    unknown = _sdk_error(lambda: faceid.call_json("NoSuchAction", {}))  # same body as above: not a replay
    assert unknown.code == "InvalidAction" and unknown.requestId

    from tencentcloud.common import credential
    from tencentcloud.faceid.v20180301 import faceid_client

    wrong = faceid_client.FaceidClient(
        credential.Credential(tencent_server.credential.secret_id, "not-the-key"), "", tencent_server.profile()
    )
    denied = _sdk_error(lambda: wrong.CompareFaceLiveness(compare_request(b"x", obama)))
    assert denied.code == "AuthFailure.SignatureFailure" and denied.requestId

    # an OCR action signed for service faceid is refused
    assert _sdk_error(lambda: faceid.call_json("MLIDPassportOCR", {"ImageBase64": "AAAA"})).code in {
        "NoSuchVersion",
        "AuthFailure.InvalidAuthorization",
    }


def test_concurrent_sdk_calls_answer_as_one_at_a_time(
    tencent_server: Any, clip: tuple[bytes, bytes], obama: bytes, shared_data: Path
) -> None:
    """Selfie checks and passport OCR through the SDK at 4 clients give the one-at-a-time answers."""
    video, photo = clip
    passport = (shared_data / "mrz-specimens" / "td3.jpg").read_bytes()

    def selfie(image: bytes) -> tuple[str, float]:
        answer = tencent_server.faceid().CompareFaceLiveness(compare_request(video, image))
        return answer.Result, round(answer.Sim, 1)

    def read(flag: bool) -> tuple[str, str]:
        request = ocr_models.MLIDPassportOCRRequest()
        request.ImageBase64 = b64(passport)
        request.RetImage = flag
        answer = tencent_server.ocr().MLIDPassportOCR(request)
        return answer.ID, answer.CodeCrc

    jobs = [lambda: selfie(photo), lambda: selfie(obama), lambda: read(False), lambda: read(True)]
    alone = [job() for job in jobs]
    with ThreadPoolExecutor(len(jobs)) as pool:
        together = [f.result() for f in [pool.submit(job) for job in jobs]]
    assert together == alone
    assert alone[0][0] == "Success" and alone[1][0] == "FailedOperation.CompareLowSimilarity"


def test_the_same_sdk_call_twice_in_one_second_is_answered_twice(tencent_server: Any) -> None:
    """Tencent's SDKs sign no nonce, so the same call sent twice within one second signs alike:
    Tencent answers both (a result polled twice, two tokens applied for with the same parameters),
    and so does OpenKYC, as it does a different action with the same body."""
    import httpx
    from tencentcloud.common.http.request import RequestInternal

    faceid = tencent_server.faceid()

    def signed(action: str) -> Any:
        request = RequestInternal(tencent_server.endpoint, "POST", "/")
        faceid._build_req_with_tc3_signature(action, {}, request)
        return request

    while True:  # three requests signed within one second
        sent = [signed("DetectAIFakeFaces"), signed("DetectAIFakeFaces"), signed("GenerateReflectSequence")]
        if len({r.header["X-TC-Timestamp"] for r in sent}) == 1:
            break
    assert sent[0].header["Authorization"] == sent[1].header["Authorization"] == sent[2].header["Authorization"]
    url = f"http://{tencent_server.endpoint}/"
    codes = [httpx.post(url, content=r.data, headers=r.header).json()["Response"]["Error"]["Code"] for r in sent]
    assert codes == ["UnsupportedOperation"] * 3


def test_a_repeated_signed_nonce_on_the_tencent_path_is_a_replay(tencent_server: Any) -> None:
    """A client that signs ``X-TC-Nonce`` asks for replay protection: the same signed request sent
    again is refused; the same body under another action, or with another nonce, is answered."""
    import time

    import httpx

    from openkyc.accounts.signing import sign_request

    url = f"http://{tencent_server.endpoint}/"
    credential = tencent_server.credential

    def headers(action: str, nonce: str, timestamp: int) -> dict[str, str]:
        signed = sign_request(
            credential.secret_id,
            credential.secret_key,
            method="POST",
            path="/",
            host=tencent_server.endpoint,
            body=b"{}",
            timestamp=timestamp,
            extra_signed_headers={"X-TC-Nonce": nonce},
            service="faceid",
        )
        return {**signed, "X-TC-Action": action, "X-TC-Version": "2018-03-01", "X-TC-Region": "ap-singapore"}

    now = int(time.time())
    calls = [
        headers("DetectAIFakeFaces", "n-1", now),
        headers("DetectAIFakeFaces", "n-1", now),
        headers("GenerateReflectSequence", "n-1", now),
        headers("DetectAIFakeFaces", "n-2", now),
    ]
    codes = [httpx.post(url, content=b"{}", headers=h).json()["Response"]["Error"]["Code"] for h in calls]
    assert codes == [
        "UnsupportedOperation",
        "AuthFailure.SignatureFailure",
        "UnsupportedOperation",
        "UnsupportedOperation",
    ]


def test_concurrent_biz_tokens_each_keep_their_own_extra(tencent_server: Any, clip: tuple[bytes, bytes]) -> None:
    """ApplyWebVerificationBizTokenIntl at 4 clients: four sessions, each answering its own Extra,
    as the same calls one at a time do."""
    _, photo = clip

    def apply_and_read(extra: str) -> tuple[bool, Any, int]:
        faceid = tencent_server.faceid()
        request = models.ApplyWebVerificationBizTokenIntlRequest()
        request.RedirectURL = "https://shop.example/done"
        request.CompareImageBase64 = b64(photo)
        request.Extra = extra
        token = faceid.ApplyWebVerificationBizTokenIntl(request).BizToken
        read = models.GetWebVerificationResultIntlRequest()
        read.BizToken = token
        answer = faceid.GetWebVerificationResultIntl(read)
        return answer.Extra == extra, answer.ErrorCode, len(answer.VerificationDetailList)

    alone = [apply_and_read(f"order-{i}") for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(apply_and_read, [f"again-{i}" for i in range(4)]))
    assert together == alone == [(True, None, 0)] * 4


def test_the_mainland_sdk_for_the_actions_both_share(tencent_server: Any, shared_data: Path) -> None:
    """``tencentcloud-sdk-python`` (mainland) shares MLIDPassportOCR, HKIDCardOCR, MLIDCardOCR and
    DetectAIFakeFaces with the international SDK; it is installed apart (the two share the package
    name ``tencentcloud``), in ``VENV/tencent-mainland`` by ``make install``, and run in a subprocess."""
    import os
    import subprocess

    mainland = Path(sys.prefix) / "tencent-mainland"
    if not (mainland / "tencentcloud" / "ocr").is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Tencent's mainland SDK is missing at {mainland} (make install puts it there)")
        pytest.skip(f"Tencent's mainland SDK is not installed at {mainland}")
    script = Path(__file__).with_name("mainland_sdk_call.py")
    passport = shared_data / "mrz-specimens" / "td3.jpg"
    cred = tencent_server.credential
    done = subprocess.run(
        [sys.executable, str(script), tencent_server.endpoint, cred.secret_id, cred.secret_key, str(passport)],
        env={**os.environ, "PYTHONPATH": str(mainland)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["sdk"].startswith(str(mainland))  # the mainland package, not the international one
    assert out["passport"] == {"ID": "L898902C3", "Surname": "ERIKSSON", "DateOfBirth": "1974-08-12"}
    assert out["hkid"] == "FailedOperation.NoHKIDCard"
    assert out["fake_faces"] == "UnsupportedOperation"
