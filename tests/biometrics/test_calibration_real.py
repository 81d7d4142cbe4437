"""The shipped calibration on people it was never fitted on (real models, real data; slow).

The photo identities of the shared data that the calibration holds out (``is_held_out``, the same
rule ``benchmarks/calibrate_faces.py`` uses) are embedded with the product's engine; every pair is
scored with protected templates under several random app keys. The video identities are measured
by the benchmark (docs/biometrics.md, "Calibration"), not here (they need minutes of decoding).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from openkyc.biometrics.calibration import Calibration, is_held_out
from openkyc.biometrics.detection import largest_face
from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.evaluation import key_spread, random_keys
from openkyc.biometrics.images import decode_image
from openkyc.cli.common import ErrorReportingGroup
from openkyc.cli.faces import register

pytestmark = pytest.mark.slow


def _held_out_photos(data: Path) -> list[tuple[str, str, Path, bool]]:
    items: list[tuple[str, str, Path, bool]] = []
    for folder in ("facerec-examples", "dlib-johns"):
        with (data / folder / "labels.csv").open() as fh:
            for row in csv.DictReader(fh):
                if row.get("kind", "single_identity") == "single_identity":
                    items.append((f"{folder}:{row['identity']}", row["image"], data / folder / row["image"], False))
    with (data / "dlib-faces-annotated" / "face_counts.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["annotated_faces"] and int(row["annotated_faces"]) > 0:
                items.append(
                    (f"annotated:{row['image']}", row["image"], data / "dlib-faces-annotated" / row["image"], True)
                )
    return items


def test_held_out_people_false_matches_at_70_under_many_keys(engine: FaceEngine, shared_data: Path) -> None:
    labels, sources, vectors = [], [], []
    for identity, source, path, every_face in _held_out_photos(shared_data):
        image = decode_image(path.read_bytes())
        faces = engine.detector.detect(image)
        chosen = faces if every_face else [f for f in [largest_face(faces)] if f is not None]
        for i, face in enumerate(chosen):
            label = f"{identity}#{i}" if every_face else identity
            if is_held_out(label):
                labels.append(label)
                sources.append(source)
                vectors.append(engine.embedder.embed(image, face))
    ident, src = np.asarray(labels), np.asarray(sources)
    a, b = np.triu_indices(len(labels), 1)
    same = ident[a] == ident[b]
    keep = same | (src[a] != src[b])  # two people of one group photo: left out, as in the fit
    index = np.stack([a[keep], b[keep]], axis=1)
    same = same[keep]
    assert len(set(labels)) >= 20 and same.sum() >= 100 and (~same).sum() >= 1500
    spread = key_spread(
        np.stack(vectors).astype(np.float32), index, same, engine.calibration, random_keys(12, seed=2026)
    )
    at70 = spread["70"]
    assert at70["fmr_mean"] <= 1e-3, at70
    assert at70["fmr_max"] <= 2e-3, at70
    assert max(at70["false_non_matches_per_key"]) == 0, at70
    # the raw cosine agrees: no held-out impostor pair reaches the cosine knot of sim 80
    cos = np.einsum("ij,ij->i", np.stack(vectors)[index[:, 0]], np.stack(vectors)[index[:, 1]])
    assert float(cos[~same].max()) < engine.calibration.score_for_sim(80, "cosine")


def test_cli_evaluate_reports_the_operating_point_and_key_spread(shared_data: Path, tmp_path: Path) -> None:
    app = typer.Typer(cls=ErrorReportingGroup)
    register(app)
    pairs = shared_data / "facerec-examples" / "pairs_all.csv"
    res = CliRunner().invoke(
        app, ["evaluate", str(pairs), "--json", "--keys", "4", "--plot", str(tmp_path / "det.png")]
    )
    assert res.exit_code == 0, res.stdout
    out = json.loads(res.stdout)
    fm, fnm = out["fmr_at_threshold"], out["fnmr_at_threshold"]
    assert fm["impostor_pairs"] + fnm["genuine_pairs"] == out["scored_pairs"] > 100
    assert fm["rate"] == pytest.approx(fm["false_matches"] / fm["impostor_pairs"])
    assert fnm["rate"] == pytest.approx(fnm["false_non_matches"] / fnm["genuine_pairs"])
    assert fm["false_matches"] == 0 and fnm["false_non_matches"] == 0  # these people are told apart
    assert set(out["operating_points"]) == {"70", "80"}
    assert out["keys"]["keys"] == 4 and len(out["keys"]["70"]["false_matches_per_key"]) == 4
    assert out["keys"]["70"]["impostor_pairs"] == fm["impostor_pairs"]
    cal = Calibration.packaged()  # the default template format, under the CLI key and the random keys
    assert out["template_format"] == {"bits": cal.bits, "version": cal.version}
    assert (out["keys"]["bits"], out["keys"]["template_version"]) == (cal.bits, cal.version)
    assert (tmp_path / "det.png").stat().st_size > 5000
    text = CliRunner().invoke(app, ["evaluate", str(pairs), "--keys", "2"])
    assert text.exit_code == 0 and "2 keys, sim>=70" in text.stdout and "FNMR=" in text.stdout
