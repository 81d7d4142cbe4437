"""Real models on the shared data (slow)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from openkyc import errors
from openkyc.biometrics import evaluation
from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.templates import TemplateKey, TemplateProtector, hamming_similarity
from openkyc.cli.common import ErrorReportingGroup
from openkyc.cli.faces import register

pytestmark = pytest.mark.slow
KEY = TemplateKey("test", b"test-key-0123456789abcdef")


@pytest.mark.parametrize(("folder", "min_accuracy"), [("facerec-examples", 0.97), ("dlib-johns", 0.97)])
def test_pairs_accuracy_at_default_threshold(
    engine: FaceEngine, shared_data: Path, folder: str, min_accuracy: float
) -> None:
    report = evaluation.evaluate(engine, evaluation.read_pairs(shared_data / folder / "pairs_all.csv"), KEY)
    assert report.failures_to_enrol == 0
    assert report.accuracy_at_threshold is not None and report.accuracy_at_threshold >= min_accuracy
    assert report.template["auc"] >= report.cosine["auc"] - 0.01


def test_detection_counts_within_one(engine: FaceEngine, shared_data: Path) -> None:
    folder = shared_data / "dlib-faces-annotated"
    with (folder / "face_counts.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["annotated_faces"]]
    for row in rows:
        found = engine.detect((folder / row["image"]).read_bytes()).faces
        assert abs(len(found) - int(row["annotated_faces"])) <= 1, row["image"]


def test_no_face_photos(engine: FaceEngine, shared_data: Path) -> None:
    for path in sorted((shared_data / "dlib-faces-annotated" / "no_face").glob("*.jpg")):
        assert engine.detect(path.read_bytes()).faces == ()
        with pytest.raises(errors.FaceNotFound):
            engine.enrol(path.read_bytes(), KEY)


def _jpeg(bgr: np.ndarray, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(bgr[:, :, ::-1]).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _degrade(bgr: np.ndarray) -> dict[str, np.ndarray]:
    h, w = bgr.shape[:2]
    small = cv2.resize(bgr, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    jpeg = np.asarray(Image.open(io.BytesIO(_jpeg(bgr, 8))))[:, :, ::-1]
    return {
        "small": small,
        "blurred": cv2.GaussianBlur(bgr, (0, 0), 3),
        "dark": (bgr * 0.35).astype(np.uint8),
        "compressed": np.ascontiguousarray(jpeg),
    }


def test_cross_quality_template_loses_nothing(engine: FaceEngine, shared_data: Path) -> None:
    root = shared_data / "facerec-examples"
    with (root / "labels.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == "single_identity"]
    protector = TemplateProtector(KEY, bits=1024)
    clean, degraded = [], []
    for row in rows:
        image = engine.decode((root / row["image"]).read_bytes())
        clean.append((row["identity"], engine.embed(image, enforce_quality=False)[0]))
        for copy in _degrade(image).values():
            degraded.append((row["identity"], engine.embed(copy, enforce_quality=False)[0]))
    cos, ham, same = [], [], []
    for ida, ea in clean:
        ta = protector.protect(ea)
        for idb, eb in degraded:
            cos.append(float(ea @ eb))
            ham.append(hamming_similarity(ta, protector.protect(eb)))
            same.append(ida == idb)
    labels = np.asarray(same)
    raw = evaluation.roc_metrics(np.asarray(cos), labels)
    tpl = evaluation.roc_metrics(np.asarray(ham), labels)
    assert tpl["tar_at_fmr"]["1e-02"] >= raw["tar_at_fmr"]["1e-02"] - 0.03
    assert tpl["auc"] >= raw["auc"] - 0.01


def test_unlinkable_and_renewable(engine: FaceEngine, shared_data: Path) -> None:
    photo = (shared_data / "facerec-examples/identities/obama/obama.jpg").read_bytes()
    other = (shared_data / "facerec-examples/identities/obama/obama2.jpg").read_bytes()
    a1, a2 = engine.enrol(photo, KEY).template, engine.enrol(other, KEY).template
    assert engine.compare_templates(a1, a2).match
    key_b = TemplateKey("other-app", b"another-app-secret-key-bytes")
    b1 = engine.enrol(photo, key_b).template
    # same face, two app keys: re-label and compare the raw bits -> chance level (~0.5)
    forced = type(b1)(a1.key_id, b1.bits, b1.data, b1.version)
    assert 0.4 < hamming_similarity(a1, forced) < 0.6
    assert engine.compare_templates(a1, forced).sim < 40
    renewed = TemplateKey("test-v2", b"rotated-secret-key-0123456789")
    r1, r2 = engine.enrol(photo, renewed).template, engine.enrol(other, renewed).template
    assert r1.key_id == "test-v2" and engine.compare_templates(r1, r2).match


@pytest.mark.parametrize(
    ("transform", "error"),
    [
        (lambda im: (im * 0.12).astype(np.uint8), errors.FaceTooDark),
        (lambda im: np.clip(im.astype(np.int16) + 150, 0, 255).astype(np.uint8), errors.FaceTooBright),
        (lambda im: cv2.GaussianBlur(im, (0, 0), 9), errors.FaceBlurred),
        (lambda im: cv2.resize(im, (im.shape[1] // 9, im.shape[0] // 9)), errors.FaceTooSmall),
        (lambda im: np.ascontiguousarray(im[:, : int(im.shape[1] * 0.55)]), errors.FaceIncomplete),
    ],
    ids=["dark", "bright", "blur", "small", "cut"],
)
def test_quality_codes(
    engine: FaceEngine, shared_data: Path, transform: object, error: type[errors.OpenKYCError]
) -> None:
    image = engine.decode((shared_data / "facerec-examples/identities/obama/obama.jpg").read_bytes())
    with pytest.raises(errors.FaceQualityTooLow) as info:
        engine.enrol(transform(image), KEY)  # type: ignore[operator]
    assert type(info.value) is error


def test_several_faces_where_one_expected(engine: FaceEngine, shared_data: Path) -> None:
    data = (shared_data / "facerec-examples/group/kit_with_rose.jpg").read_bytes()
    with pytest.raises(errors.MultipleFacesFound) as info:
        engine.enrol(data, KEY, require_single=True)
    assert info.value.error_code == "FailedOperation.LifePhotoDetectFaces"


def test_cli_commands(shared_data: Path, tmp_path: Path) -> None:
    import json

    app = typer.Typer(cls=ErrorReportingGroup)  # the root command's error format
    register(app)
    runner = CliRunner()
    d = shared_data / "facerec-examples"
    res = runner.invoke(app, ["detect", str(d / "group/kit_with_rose.jpg"), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["face_count"] == 2
    res = runner.invoke(
        app, ["compare", str(d / "identities/obama/obama.jpg"), str(d / "identities/biden/biden.jpg"), "--json"]
    )
    assert res.exit_code == 0 and json.loads(res.stdout)["match"] is False
    res = runner.invoke(app, ["models", "--json"])
    assert res.exit_code == 0 and all(m["verified"] for m in json.loads(res.stdout)["models"])
    res = runner.invoke(app, ["evaluate", str(d / "pairs_all.csv"), "--json", "--plot", str(tmp_path / "roc.png")])
    assert res.exit_code == 0 and json.loads(res.stdout)["template"]["auc"] > 0.99
    assert (tmp_path / "roc.png").stat().st_size > 1000
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    res = runner.invoke(app, ["detect", str(bad), "--json"])
    assert res.exit_code == 2 and json.loads(res.stdout)["Error"]["Code"] == "InvalidParameterValue.ImageDecodeFailed"
