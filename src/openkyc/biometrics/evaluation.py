"""Evaluation of 1:1 accuracy on a pairs file: raw cosine and protected-template scores side by side.

Pairs CSV: ``image_a,image_b,same_person`` (paths relative to the CSV). Each image is embedded
once (largest face, quality reported but not enforced); an image without a face or that fails to
decode is a failure to enrol and its pairs are left out of the metrics (and counted).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from openkyc.biometrics.calibration import Calibration
from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.templates import PLAIN, TemplateKey, hamming_similarity, projection_matrix
from openkyc.biometrics.types import Embedding
from openkyc.errors import OpenKYCError

FloatArray = npt.NDArray[np.float64]
FMR_TARGETS = (1e-2, 1e-3, 1e-4)
OPERATING_SIMS = (70.0, 80.0)


def roc_metrics(scores: FloatArray, labels: npt.NDArray[np.bool_]) -> dict[str, Any]:
    """AUC, EER, best accuracy and TAR at fixed FMRs (empirical; higher score = same person)."""
    genuine, impostor = scores[labels], scores[~labels]
    if len(genuine) == 0 or len(impostor) == 0:
        return {"genuine_pairs": len(genuine), "impostor_pairs": len(impostor)}
    thresholds = np.unique(scores)[::-1]
    g_sorted, i_sorted = np.sort(genuine), np.sort(impostor)
    tar = 1.0 - np.searchsorted(g_sorted, thresholds, side="left") / len(genuine)
    fmr = 1.0 - np.searchsorted(i_sorted, thresholds, side="left") / len(impostor)
    fpr_curve, tpr_curve = np.concatenate(([0.0], fmr, [1.0])), np.concatenate(([0.0], tar, [1.0]))
    auc = float(np.sum(np.diff(fpr_curve) * (tpr_curve[1:] + tpr_curve[:-1]) / 2))
    fnmr = 1.0 - tar
    eer_i = int(np.argmin(np.abs(fnmr - fmr)))
    correct = tar * len(genuine) + (1.0 - fmr) * len(impostor)
    best_i = int(np.argmax(correct))
    tar_at: dict[str, float | None] = {}
    for target in FMR_TARGETS:
        ok = fmr <= target
        tar_at[f"{target:.0e}"] = float(tar[ok].max()) if ok.any() else 0.0
    return {
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "auc": round(auc, 5),
        "eer": round(float((fnmr[eer_i] + fmr[eer_i]) / 2), 5),
        "best_accuracy": round(float(correct[best_i] / len(scores)), 5),
        "best_threshold": round(float(thresholds[best_i]), 5),
        "tar_at_fmr": tar_at,
        "tar_at_fmr_note": "empirical; FMR below 1/impostor_pairs is not measurable",
    }


def operating_point(sims: FloatArray, labels: npt.NDArray[np.bool_], threshold: float) -> dict[str, Any]:
    """False matches and false non-matches at ``sim >= threshold``, as rates and counts."""
    impostor, genuine = sims[~labels], sims[labels]
    fm, fnm = int((impostor >= threshold).sum()), int((genuine < threshold).sum())
    return {
        "threshold": threshold,
        "fmr": fm / len(impostor) if len(impostor) else None,
        "false_matches": fm,
        "impostor_pairs": len(impostor),
        "fnmr": fnm / len(genuine) if len(genuine) else None,
        "false_non_matches": fnm,
        "genuine_pairs": len(genuine),
    }


def random_keys(count: int, seed: int | None = None) -> list[TemplateKey]:
    """``count`` random template keys (like the ones apps get); ``seed`` makes them repeatable."""
    rng = np.random.default_rng(seed)
    return [TemplateKey(f"eval-{i}", rng.bytes(32)) for i in range(count)]


def template_similarities(
    vectors: npt.NDArray[np.float32],
    index: npt.NDArray[np.int64],
    key: TemplateKey,
    bits: int,
    version: int = PLAIN,
) -> FloatArray:
    """Hamming similarity of each pair ``index[i] = (a, b)`` of ``vectors`` under ``key``: the
    product's own projection (:func:`projection_matrix`), computed for all pairs at once."""
    matrix = projection_matrix(key, vectors.shape[1], bits, version)
    signs = np.where((vectors @ matrix.T) > 0, 1.0, -1.0).astype(np.float32)
    gram = signs @ signs.T  # agreements - disagreements of every two vectors (exact in float32)
    return (gram[index[:, 0], index[:, 1]].astype(np.float64) + bits) / (2.0 * bits)


def key_spread(
    vectors: npt.NDArray[np.float32],
    index: npt.NDArray[np.int64],
    labels: npt.NDArray[np.bool_],
    calibration: Calibration,
    keys: list[TemplateKey],
    *,
    bits: int | None = None,
    version: int | None = None,
    sims: tuple[float, ...] = OPERATING_SIMS,
) -> dict[str, Any]:
    """Operating points at each of ``sims`` under every key (templates of ``bits`` and ``version``,
    default: the table's): per-key counts and the spread."""
    size, scheme = bits or calibration.bits, version or calibration.version
    per_key: dict[str, list[dict[str, Any]]] = {f"{s:g}": [] for s in sims}
    for key in keys:
        scores = template_similarities(vectors, index, key, size, scheme)
        mapped = calibration.sims(scores, "template", size, scheme)
        for s in sims:
            per_key[f"{s:g}"].append(operating_point(mapped, labels, s))
    out: dict[str, Any] = {"keys": len(keys), "bits": size, "template_version": scheme}
    for level, points in per_key.items():
        fmr = np.asarray([p["fmr"] or 0.0 for p in points])
        fnm = np.asarray([p["false_non_matches"] for p in points])
        out[level] = {
            "fmr_mean": float(fmr.mean()),
            "fmr_min": float(fmr.min()),
            "fmr_max": float(fmr.max()),
            "false_matches_per_key": [p["false_matches"] for p in points],
            "false_non_matches_per_key": fnm.tolist(),
            "impostor_pairs": points[0]["impostor_pairs"],
            "genuine_pairs": points[0]["genuine_pairs"],
        }
    return out


@dataclass(frozen=True)
class Pair:
    image_a: Path
    image_b: Path
    same: bool


def read_pairs(path: Path) -> list[Pair]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        Pair(path.parent / r["image_a"], path.parent / r["image_b"], r["same_person"].strip() in ("1", "true", "True"))
        for r in rows
    ]


@dataclass
class EvaluationReport:
    pairs: int
    failures_to_enrol: int
    failed_images: list[str]
    threshold: float
    cosine: dict[str, Any]
    template: dict[str, Any]
    accuracy_at_threshold: float | None
    operating_points: dict[str, dict[str, Any]] = field(default_factory=dict)  # sim -> point (template)
    key_spread: dict[str, Any] | None = None
    template_format: dict[str, int] = field(default_factory=dict)  # bits, version of the templates
    scores: dict[str, FloatArray] = field(repr=False, default_factory=dict)
    labels: npt.NDArray[np.bool_] = field(repr=False, default_factory=lambda: np.zeros(0, bool))
    thresholds: dict[str, dict[str, float]] = field(repr=False, default_factory=dict)  # kind -> sim -> score

    def as_dict(self) -> dict[str, Any]:
        at = self.operating_points.get(f"{self.threshold:g}") or operating_point(
            np.zeros(0), np.zeros(0, bool), self.threshold
        )
        out = {
            "pairs": self.pairs,
            "scored_pairs": len(self.labels),
            "failures_to_enrol": self.failures_to_enrol,
            "failed_images": self.failed_images,
            "threshold": self.threshold,
            "accuracy_at_threshold": self.accuracy_at_threshold,
            "fmr_at_threshold": {
                "rate": at["fmr"],
                "false_matches": at["false_matches"],
                "impostor_pairs": at["impostor_pairs"],
            },
            "fnmr_at_threshold": {
                "rate": at["fnmr"],
                "false_non_matches": at["false_non_matches"],
                "genuine_pairs": at["genuine_pairs"],
            },
            "operating_points": self.operating_points,
            "template_format": self.template_format,
            "cosine": self.cosine,
            "template": self.template,
        }
        if self.key_spread is not None:
            out["keys"] = self.key_spread
        return out


def embed_images(
    engine: FaceEngine, paths: list[Path], progress: Callable[[], None] | None = None
) -> dict[Path, Embedding | None]:
    out: dict[Path, Embedding | None] = {}
    for path in paths:
        try:
            out[path], _ = engine.embed(path.read_bytes(), enforce_quality=False)
        except (OpenKYCError, OSError):
            out[path] = None
        if progress is not None:
            progress()
    return out


def evaluate(
    engine: FaceEngine,
    pairs: list[Pair],
    key: TemplateKey,
    progress: Callable[[], None] | None = None,
    *,
    keys: list[TemplateKey] | None = None,
) -> EvaluationReport:
    """Metrics of ``pairs`` under ``key``; with ``keys``, also the operating points under each of them."""
    images = sorted({p.image_a for p in pairs} | {p.image_b for p in pairs})
    embeddings = embed_images(engine, images, progress)
    protector = engine.protector(key)
    templates = {p: protector.protect(e) for p, e in embeddings.items() if e is not None}
    usable = [p for p, e in embeddings.items() if e is not None]
    row = {p: i for i, p in enumerate(usable)}
    cos, ham, labels, index = [], [], [], []
    for pair in pairs:
        ea, eb = embeddings[pair.image_a], embeddings[pair.image_b]
        if ea is None or eb is None:
            continue
        cos.append(float(np.dot(ea, eb)))
        ham.append(hamming_similarity(templates[pair.image_a], templates[pair.image_b]))
        labels.append(pair.same)
        index.append((row[pair.image_a], row[pair.image_b]))
    lab = np.asarray(labels, dtype=bool)
    cos_a, ham_a = np.asarray(cos, dtype=np.float64), np.asarray(ham, dtype=np.float64)
    cal, bits, version = engine.calibration, protector.bits, protector.version
    sims = cal.sims(ham_a, "template", bits, version)
    accuracy = float(np.mean((sims >= engine.threshold) == lab)) if len(lab) else None
    failed = [str(p.name) for p, e in embeddings.items() if e is None]
    levels = sorted({engine.threshold, *OPERATING_SIMS})
    spread = None
    if keys and len(lab):
        vectors = np.stack([np.asarray(embeddings[p], dtype=np.float32) for p in usable])
        spread = key_spread(
            vectors, np.asarray(index, dtype=np.int64), lab, cal, keys, bits=bits, version=version, sims=tuple(levels)
        )
    return EvaluationReport(
        pairs=len(pairs),
        failures_to_enrol=len(failed),
        failed_images=failed,
        threshold=engine.threshold,
        cosine=roc_metrics(cos_a, lab),
        template=roc_metrics(ham_a, lab),
        accuracy_at_threshold=None if accuracy is None else round(accuracy, 5),
        operating_points={f"{s:g}": operating_point(sims, lab, s) for s in levels},
        key_spread=spread,
        template_format={"bits": bits, "version": version},
        scores={"cosine": cos_a, "template": ham_a},
        labels=lab,
        thresholds={
            "cosine": {f"{s:g}": cal.score_for_sim(s, "cosine") for s in OPERATING_SIMS},
            "template": {f"{s:g}": cal.score_for_sim(s, "template", bits, version) for s in OPERATING_SIMS},
        },
    )


def plot(report: EvaluationReport, path: Path) -> None:
    """ROC and DET (log FMR) curves for both score kinds, with the operating points at sim 70 and 80
    marked on the DET plot (an FMR of 0 is drawn at half of one pair, 0.5/impostor_pairs), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (roc_ax, det_ax) = plt.subplots(1, 2, figsize=(11, 4.8))
    impostors = int((~report.labels).sum())
    floor = 0.5 / max(impostors, 1)
    markers = {"70": "o", "80": "s"}
    for kind, scores in report.scores.items():
        g, i = scores[report.labels], scores[~report.labels]
        if len(g) == 0 or len(i) == 0:
            continue
        th = np.unique(scores)[::-1]
        tar = 1.0 - np.searchsorted(np.sort(g), th, side="left") / len(g)
        fmr = 1.0 - np.searchsorted(np.sort(i), th, side="left") / len(i)
        (line,) = roc_ax.plot(fmr, tar, label=kind)
        det_ax.plot(np.maximum(fmr, floor), 1 - tar, label=kind, color=line.get_color())
        for sim, score in report.thresholds.get(kind, {}).items():
            point_fmr, point_fnmr = float((i >= score).mean()), float((g < score).mean())
            det_ax.plot(
                [max(point_fmr, floor)],
                [point_fnmr],
                markers.get(sim, "^"),
                color=line.get_color(),
                markersize=8,
                label=f"{kind} sim {sim}: FMR {point_fmr:.1e}, FNMR {point_fnmr:.1e}",
            )
    for sim, promised in (("70", 1e-3), ("80", 1e-4)):
        det_ax.axvline(promised, color="grey", linestyle=":", linewidth=1)
        det_ax.annotate(f"sim {sim} promise", (promised, 0.98), xycoords=("data", "axes fraction"), fontsize=7)
    roc_ax.set(xlabel="FMR", ylabel="TAR", title="ROC")
    det_ax.set(xscale="log", xlabel="FMR (log)", ylabel="FNMR", title=f"DET ({impostors} impostor pairs)")
    det_ax.set_xlim(left=min(floor, 1e-5) / 2, right=1.0)
    roc_ax.legend()
    det_ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
