"""Run with Tencent's mainland SDK (``tencentcloud-sdk-python``) first on ``sys.path``: calls the
actions the mainland and international SDKs share against an OpenKYC endpoint, prints JSON.

Usage: ``python mainland_sdk_call.py ENDPOINT SECRET_ID SECRET_KEY PASSPORT_JPG``
"""

from __future__ import annotations

import base64
import json
import sys

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.faceid.v20180301 import faceid_client
from tencentcloud.faceid.v20180301 import models as faceid_models
from tencentcloud.ocr.v20181119 import models, ocr_client


def main() -> None:
    endpoint, secret_id, secret_key, passport = sys.argv[1:5]
    http = HttpProfile(endpoint=endpoint, reqTimeout=300)
    http.scheme = "http"
    profile = ClientProfile(httpProfile=http)
    cred = credential.Credential(secret_id, secret_key)
    ocr = ocr_client.OcrClient(cred, "ap-guangzhou", profile)
    out: dict[str, object] = {"sdk": ocr_client.__file__}

    request = models.MLIDPassportOCRRequest()
    with open(passport, "rb") as handle:
        request.ImageBase64 = base64.b64encode(handle.read()).decode()
    answer = ocr.MLIDPassportOCR(request)
    out["passport"] = {"ID": answer.ID, "Surname": answer.Surname, "DateOfBirth": answer.DateOfBirth}

    card = models.HKIDCardOCRRequest()
    card.ImageBase64 = request.ImageBase64
    try:
        ocr.HKIDCardOCR(card)
    except TencentCloudSDKException as error:
        out["hkid"] = error.code

    faceid = faceid_client.FaceidClient(cred, "ap-guangzhou", profile)
    try:
        faceid.DetectAIFakeFaces(faceid_models.DetectAIFakeFacesRequest())
    except TencentCloudSDKException as error:
        out["fake_faces"] = error.code
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
