"""Liveness and selfie verification over HTTP, with the real models on real and generated video."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import cv2
import pytest
from attacks import encode_video, read_frames, still_attack

pytestmark = pytest.mark.slow


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def grid(shared_data: Path) -> dict[str, bytes]:
    folder = shared_data / "grid-talking-face-videos"
    clip = (folder / "bbaf2n.mpg").read_bytes()
    frames = read_frames(folder / "bbaf2n.mpg", limit=5)
    ok, jpeg = cv2.imencode(".jpg", frames[0])
    assert ok
    return {"clip": clip, "frame": jpeg.tobytes(), "other_clip": (folder / "lbax4n.mpg").read_bytes()}


@pytest.fixture(scope="module")
def obama(shared_data: Path) -> bytes:
    return (shared_data / "facerec-examples" / "identities" / "obama" / "obama.jpg").read_bytes()


def test_liveness_on_a_live_clip(tenant: Any, grid: dict[str, bytes]) -> None:
    response = tenant.post("/v1/liveness", {"video": b64(grid["clip"])})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["live"] is True and body["Result"] == "Success"
    assert 0 <= body["score"] <= 100
    frame = base64.b64decode(body["best_frame"])
    assert frame[:2] == b"\xff\xd8"  # a JPEG
    assert "silent" in body["evidence"]


def test_liveness_refuses_a_still_photo_played_as_video(tenant: Any, obama: bytes) -> None:
    import numpy as np

    photo = cv2.imdecode(np.frombuffer(obama, np.uint8), cv2.IMREAD_COLOR)
    video = still_attack(photo, seed=1)
    body = tenant.post("/v1/liveness", {"video": b64(video)}).json()
    assert body["live"] is False
    assert body["Result"] == "FailedOperation.LivessDetectFail"


def test_selfie_same_person_passes_and_other_person_fails(tenant: Any, grid: dict[str, bytes], obama: bytes) -> None:
    same = tenant.post("/v1/verifications/selfie", {"video": b64(grid["clip"]), "image": b64(grid["frame"])})
    assert same.status_code == 200, same.text
    body = same.json()
    assert body["Result"] == "Success" and body["sim"] >= 70 and body["Description"]
    other = tenant.post("/v1/verifications/selfie", {"video": b64(grid["clip"]), "image": b64(obama)}).json()
    assert other["Result"] == "FailedOperation.CompareLowSimilarity" and other["sim"] < 70
    stored = tenant.get(f"/v1/verifications/{other['verification_id']}").json()
    assert stored["Result"] == "FailedOperation.CompareLowSimilarity"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda obama: obama, "InvalidParameterValue"),  # an image, not a video
        (lambda obama: b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "InvalidParameterValue"),  # corrupt container
        (lambda obama: b"plain text, not media", "InvalidParameterValue"),
    ],
)
def test_bad_videos_get_4xx(tenant: Any, obama: bytes, make: Any, code: str) -> None:
    response = tenant.post("/v1/liveness", {"video": b64(make(obama))})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["Error"]["Code"].startswith(code)


def test_video_without_any_face_is_422(tenant: Any) -> None:
    import numpy as np

    frames = [np.full((240, 320, 3), 90 + i % 5, np.uint8) for i in range(75)]
    response = tenant.post("/v1/liveness", {"video": b64(encode_video(frames, fps=25))})
    assert response.status_code == 422, response.text
    assert response.json()["Error"]["Code"] == "FailedOperation.LivessNoFace"


def test_selfie_reference_without_face_is_422(tenant: Any, grid: dict[str, bytes], shared_data: Path) -> None:
    no_face = next((shared_data / "dlib-faces-annotated" / "no_face").iterdir()).read_bytes()
    response = tenant.post("/v1/verifications/selfie", {"video": b64(grid["clip"]), "image": b64(no_face)})
    assert response.status_code == 422
    assert response.json()["Error"]["Code"] == "FailedOperation.LifePhotoDetectNoFaces"


def test_reflect_sequence_is_single_use(tenant: Any, grid: dict[str, bytes]) -> None:
    sequence = tenant.post("/v1/liveness/reflect-sequences").json()
    assert 4 <= len(sequence["colours"]) <= 6 and len(sequence["durations_ms"]) == len(sequence["colours"])
    payload = {"video": b64(grid["clip"]), "mode": "reflection", "reflect_sequence_id": sequence["sequence_id"]}
    first = tenant.post("/v1/liveness", payload)
    assert first.status_code == 200
    assert first.json()["live"] is False  # this clip was not recorded under that colour sequence
    replay = tenant.post("/v1/liveness", payload)
    assert replay.status_code == 400
    assert replay.json()["Error"]["Code"] == "InvalidParameterValue.ReflectSequenceUsed"


def test_sequence_of_another_app_is_not_found(make_tenant: Any, grid: dict[str, bytes]) -> None:
    alice, bob = make_tenant("alice"), make_tenant("bob")
    sequence_id = alice.post("/v1/liveness/reflect-sequences").json()["sequence_id"]
    payload = {"video": b64(grid["clip"]), "mode": "reflection", "reflect_sequence_id": sequence_id}
    response = bob.post("/v1/liveness", payload)
    assert response.status_code == 404


def test_results_are_exported_and_erased_with_the_subject(tenant: Any, grid: dict[str, bytes], obama: bytes) -> None:
    body = {"video": b64(grid["clip"]), "image": b64(obama), "subject_id": "end-user-7"}
    verification_id = tenant.post("/v1/verifications/selfie", body).json()["verification_id"]
    export = tenant.get("/v1/privacy/subjects/end-user-7").json()
    kinds = [item["kind"] for item in export["items"]]
    assert "selfie_verification" in kinds
    # the result keeps its call's RequestId, so the call record's address is reached too
    calls = [item["value"] for item in export["items"] if item["table"] == "call_records"]
    assert [c["action"] for c in calls] == ["VerifySelfie"]
    receipt = tenant.post("/v1/privacy/subjects/end-user-7/erase").json()
    assert receipt["items"]["verification_results"] == 1
    assert receipt["items"]["call_records_pseudonymised"] == 1
    assert tenant.get(f"/v1/verifications/{verification_id}").status_code == 404
