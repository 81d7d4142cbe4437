"""Tencent's document check modes end to end against a real ``openkyc serve``: CheckMode 1 (OCR +
liveness + comparison with the card's portrait) of ``ApplySdkVerificationToken`` and CheckMode 4
(OCR only) of ``ApplyWebVerificationBizTokenIntl``, each applied through Tencent's official client,
completed through the calls the hosted page makes, and read back through the SDK with the card's
MRZ fields. The passport is rendered with a frame of the GRID clip's speaker as its portrait; the
ICAO specimen (expired in 2012) gives the documented failure; and the document sessions at two
clients answer as one at a time."""

from __future__ import annotations

import base64
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "liveness"))

from attacks import read_frames

from documents.render import render_document

pytestmark = pytest.mark.slow

models = pytest.importorskip("tencentcloud.faceid.v20180301.models")

CLIP = "grid-talking-face-videos/lrwp9a.mpg"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def holder(shared_data: Path) -> dict[str, Any]:
    """The clip, a passport rendered with a frame of the same person, its identity, and the ICAO
    TD3 specimen (expired 2012-04-15)."""
    clip = shared_data / CLIP
    face = read_frames(clip, limit=40)[35]
    passport = render_document(np.random.default_rng(11), today=date(2026, 11, 29), kind="TD3", face=face)
    assert passport.fields["expiry_date"] == "270329"  # valid until 2027-03-29
    specimen = (shared_data / "mrz-specimens" / "td3.jpg").read_bytes()
    return {"video": clip.read_bytes(), "document": passport.jpeg, "person": passport.fields, "specimen": specimen}


def complete(server: Any, token: str, **media: bytes) -> dict[str, Any]:
    """What the hosted page sends: the end user's agreement, then the document photo (and video)."""
    base = server.process.url
    body = {name: b64(value) for name, value in media.items()}
    with httpx.Client(timeout=300) as page:
        assert page.post(f"{base}/verify/{token}/notice", json={"agree": True}).status_code == 200
        submitted = page.post(f"{base}/verify/{token}/submit", json=body)
    assert submitted.status_code == 200, submitted.text
    return dict(submitted.json())


def _yymmdd(value: str) -> str:
    century = "20" if int(value[:2]) < 50 else "19"
    return f"{century}{value[:2]}-{value[2:4]}-{value[4:]}"


def expected_passport(person: dict[str, str]) -> dict[str, Any]:
    surname, given = person["surname"].replace("<", " "), person["given_names"].replace("<", " ")
    return {
        "LicenseNumber": person["document_number"],
        "FullName": f"{surname} {given}",
        "Surname": surname,
        "GivenName": given,
        "Birthday": _yymmdd(person["birth_date"]),
        "Sex": person["sex"],
        "DateOfExpiration": _yymmdd(person["expiry_date"]),
        "IssuingCountry": person["issuing_state"],
        "NationalityCode": person["nationality"],
        "PassportCodeFirst": None,
        "PassportCodeSecond": None,
    }


def passport_fields(card: Any) -> dict[str, Any]:
    passport = card.InternationalIDPassport
    assert passport is not None and card.HKIDCard is None
    return {name: getattr(passport, name) for name in PASSPORT_FIELDS}


PASSPORT_FIELDS = (
    "LicenseNumber",
    "FullName",
    "Surname",
    "GivenName",
    "Birthday",
    "Sex",
    "DateOfExpiration",
    "IssuingCountry",
    "NationalityCode",
    "PassportCodeFirst",
    "PassportCodeSecond",
)


def test_sdk_check_mode_1_reads_the_passport_and_compares_its_portrait(
    tencent_server: Any, holder: dict[str, Any]
) -> None:
    faceid = tencent_server.faceid()
    apply = models.ApplySdkVerificationTokenRequest()
    apply.CheckMode = 1  # Tencent's default: OCR + liveness + comparison with the card's portrait
    apply.SecurityLevel = 1
    apply.IdCardType = "MLIDPassport"
    apply.Extra = "order-doc-1"
    token = faceid.ApplySdkVerificationToken(apply).SdkToken
    page = complete(tencent_server, token, video=holder["video"], document_image=holder["document"])
    assert page["Result"] == "Success", page

    read = models.GetSdkVerificationResultRequest()
    read.SdkToken = token
    result = faceid.GetSdkVerificationResult(read)
    assert (result.Result, result.Description, result.Extra, result.ChargeCount) == ("0", "Success", "order-doc-1", 1)
    [card] = result.CardVerifyResults
    assert card.IsPass is True and card.CardImage is None
    assert passport_fields(card.CardInfo) == expected_passport(holder["person"])
    [compared] = result.CompareResults
    assert (compared.ErrorCode, compared.LiveErrorCode, compared.CompareErrorCode) == ("0", "0", "0")
    assert compared.Sim >= 70
    assert compared.RequestId == card.RequestId  # one stored result


def web_document_flow(server: Any, image: bytes, extra: str, **options: Any) -> tuple[Any, ...]:
    """CheckMode 4 through the SDK: BizToken, the page's document submit, the result; ``options``
    set on the Config (``IDCardType`` is ``InternationalIDPassport`` unless given)."""
    faceid = server.faceid()
    apply = models.ApplyWebVerificationBizTokenIntlRequest()
    apply.RedirectURL = "https://shop.example/done"
    apply.Extra = extra
    config = models.WebVerificationConfigIntl()
    config.CheckMode = 4
    config.IDCardType = "InternationalIDPassport"
    for name, value in options.items():
        setattr(config, name, value)
    apply.Config = config
    token = faceid.ApplyWebVerificationBizTokenIntl(apply).BizToken
    page = complete(server, token, document_image=image)
    read = models.GetWebVerificationResultIntlRequest()
    read.BizToken = token
    result = faceid.GetWebVerificationResultIntl(read)
    assert result.Extra == extra and result.BestFrameBase64 is None and result.VideoBase64 is None
    [ocr] = result.OCRResult
    assert ocr.CardImageBase64 is None and ocr.HeadImageBase64 is None  # the page's photo is not kept
    [detail] = result.VerificationDetailList
    assert detail.LivenessErrorCode is None and detail.CompareErrorCode is None  # no selfie step
    fields = passport_fields(ocr.CardInfo)
    codes = (result.ErrorCode, detail.ErrorCode, detail.ErrorMsg)  # the session's, the attempt's
    return page["Result"], codes, ocr.IsPass, fields, ocr.OriginalCardInfo is not None


def test_web_check_mode_4_reads_the_passport_only(tencent_server: Any, holder: dict[str, Any]) -> None:
    page, codes, passed, fields, original = web_document_flow(tencent_server, holder["document"], "doc-4")
    assert (page, codes, passed, original) == ("Success", (0, 0, "Success"), True, True)
    assert fields == expected_passport(holder["person"])


def test_an_expired_passport_is_the_documented_failure(tencent_server: Any, holder: dict[str, Any]) -> None:
    page, codes, passed, fields, _ = web_document_flow(tencent_server, holder["specimen"], "doc-expired")
    assert page == "FailedOperation.DocumentExpired" and passed is False
    # the attempt's code (docs/tencent.md); the session's stays null while the end user may retry
    assert codes == (None, 4, "The document has expired.")
    assert (fields["LicenseNumber"], fields["Surname"], fields["GivenName"]) == ("L898902C3", "ERIKSSON", "ANNA MARIA")
    assert (fields["Birthday"], fields["DateOfExpiration"]) == ("1974-08-12", "2012-04-15")


def test_concurrent_document_sessions_answer_as_one_at_a_time(tencent_server: Any, holder: dict[str, Any]) -> None:
    jobs = [("document", "c-1"), ("specimen", "c-2"), ("document", "c-3"), ("specimen", "c-4")]
    alone = [web_document_flow(tencent_server, holder[image], extra) for image, extra in jobs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda job: web_document_flow(tencent_server, holder[job[0]], job[1]), jobs))
    assert together == alone
    assert [answer[1][:2] for answer in alone] == [(0, 0), (None, 4), (0, 0), (None, 4)]


def test_allow_expired_document_is_applied_to_the_session(tencent_server: Any, holder: dict[str, Any]) -> None:
    """The expired ICAO specimen passes in the session that allows expired documents (the default
    rule does not), and fails again in the next session that says nothing."""
    page, codes, passed, fields, _ = web_document_flow(
        tencent_server, holder["specimen"], "doc-expired-ok", AllowExpiredDocument=True
    )
    assert (page, codes, passed) == ("Success", (0, 0, "Success"), True)
    assert (fields["LicenseNumber"], fields["DateOfExpiration"]) == ("L898902C3", "2012-04-15")
    again = web_document_flow(tencent_server, holder["specimen"], "doc-expired-again", AllowExpiredDocument=False)
    assert again[:3] == ("FailedOperation.DocumentExpired", (None, 4, "The document has expired."), False)


def test_the_card_type_is_the_only_document_the_session_takes(tencent_server: Any, holder: dict[str, Any]) -> None:
    """A valid passport shown to a session that asked for a Hong Kong identity card is refused as a
    document type the session does not take; the same passport passes where the card type is a passport."""
    page, codes, passed, fields, _ = web_document_flow(
        tencent_server, holder["document"], "doc-hk", IDCardType="HKIDCard"
    )
    assert (page, codes, passed) == (
        "FailedOperation.DocumentTypeNotAllowed",
        (None, 4, "This type of document is not accepted."),
        False,
    )
    assert fields == expected_passport(holder["person"])  # CardInfo is what was read
