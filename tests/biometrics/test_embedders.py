"""Embedders per name: their own calibration tables, per-embedder template sub-keys, the optional extra."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openkyc import errors
from openkyc.biometrics.calibration import EMBEDDERS, Calibration
from openkyc.biometrics.embedding import build_embedder
from openkyc.biometrics.engine import FaceEngine, base_key_id, embedder_key
from openkyc.biometrics.templates import DEFAULT_BITS, TemplateKey

KEY = TemplateKey("tk-0123456789abcdef", b"S" * 32)


class _FakeDetector:
    def detect(self, image: Any) -> list[Any]:
        return []


class _FakeEmbedder:
    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def embed(self, image: Any, face: Any) -> Any:
        raise AssertionError("not called")


def _fake_engine(name: str, dim: int = 128) -> FaceEngine:
    return FaceEngine(_FakeDetector(), _FakeEmbedder(name, dim), Calibration.packaged(name))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", EMBEDDERS)
def test_each_embedder_has_its_own_table(name: str) -> None:
    cal = Calibration.packaged(name)
    assert cal.embedder == name and cal.bits == DEFAULT_BITS
    knots = np.asarray(cal.table["template"])
    assert np.all(np.diff(knots[:, 0]) > 0) and np.all(np.diff(knots[:, 1]) >= 0)
    assert cal.sim(cal.score_for_sim(70.0)) == pytest.approx(70.0)


def test_tables_differ_and_sface_is_the_default() -> None:
    thresholds = {name: Calibration.packaged(name).score_for_sim(70.0) for name in EMBEDDERS}
    assert len(set(thresholds.values())) == 3
    assert Calibration.packaged().table == Calibration.packaged("sface").table
    with pytest.raises(ValueError, match="no calibration table"):
        Calibration.packaged("arcface")


def test_sub_keys_per_embedder() -> None:
    assert embedder_key(KEY, "sface") is KEY
    dlib, fusion = embedder_key(KEY, "dlib"), embedder_key(KEY, "fusion")
    assert dlib.key_id == "tk-0123456789abcdef/dlib" and fusion.key_id == "tk-0123456789abcdef/fusion"
    assert len({KEY.secret, dlib.secret, fusion.secret}) == 3
    assert embedder_key(KEY, "dlib") == dlib  # deterministic: no extra secret to store
    assert {base_key_id(k.key_id) for k in (KEY, dlib, fusion)} == {KEY.key_id}


def test_templates_of_two_embedders_never_compare() -> None:
    sface, dlib = _fake_engine("sface"), _fake_engine("dlib")
    assert (sface.name, dlib.name) == ("sface", "dlib")
    vector = np.ones(128, dtype=np.float32) / np.sqrt(128)
    a, b = sface.protector(KEY).protect(vector), dlib.protector(KEY).protect(vector)
    assert a.key_id != b.key_id
    with pytest.raises(errors.TemplateMismatch) as caught:
        sface.compare_templates(a, b)
    assert caught.value.error_code == "InvalidParameterValue.FaceTemplateMismatch"
    assert dlib.compare_templates(b, b).sim == 100.0


@pytest.mark.parametrize("name", ["dlib", "fusion"])
def test_missing_dlib_extra_gives_the_stable_error(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # `import dlib` now raises ImportError
    for build in (lambda: build_embedder(name), lambda: FaceEngine.for_embedder(name)):
        with pytest.raises(errors.EmbedderUnavailable) as caught:
            build()
        assert caught.value.error_code == "UnsupportedOperation.EmbedderUnavailable"
        assert caught.value.status_code == 501


def test_missing_face_recognition_models_gives_the_stable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "face_recognition_models" else real(n, *a)
    )
    with pytest.raises(errors.EmbedderUnavailable):
        build_embedder("dlib")


def test_unknown_embedder_name() -> None:
    with pytest.raises(ValueError, match="unknown embedder"):
        build_embedder("arcface")


@pytest.mark.slow
def test_real_dlib_and_fusion_engines(engine: FaceEngine, shared_data: Path) -> None:
    ids = shared_data / "facerec-examples" / "identities"
    obama, obama2, biden = (ids / "obama" / "obama.jpg", ids / "obama" / "obama2.jpg", ids / "biden" / "biden.jpg")
    for name in ("dlib", "fusion"):
        other = FaceEngine.for_embedder(name)
        assert other.name == name and other.embedder.dim == (128 if name == "dlib" else 256)
        same = other.compare(obama.read_bytes(), obama2.read_bytes(), KEY)
        diff = other.compare(obama.read_bytes(), biden.read_bytes(), KEY)
        assert same.match and same.sim >= 70 and not diff.match and diff.sim < 70, (name, same.sim, diff.sim)
        with pytest.raises(errors.TemplateMismatch):
            engine.compare_templates(
                engine.enrol(obama.read_bytes(), KEY).template, other.enrol(obama.read_bytes(), KEY).template
            )
