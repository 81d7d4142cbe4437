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

from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.templates import TemplateKey, hamming_similarity
from openkyc.biometrics.types import Embedding
from openkyc.errors import OpenKYCError

FloatArray = npt.NDArray[np.float64]
FMR_TARGETS = (1e-2, 1e-3, 1e-4)


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
    scores: dict[str, FloatArray] = field(repr=False, default_factory=dict)
    labels: npt.NDArray[np.bool_] = field(repr=False, default_factory=lambda: np.zeros(0, bool))

    def as_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "scored_pairs": len(self.labels),
            "failures_to_enrol": self.failures_to_enrol,
            "failed_images": self.failed_images,
            "threshold": self.threshold,
            "accuracy_at_threshold": self.accuracy_at_threshold,
            "cosine": self.cosine,
            "template": self.template,
        }


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
    engine: FaceEngine, pairs: list[Pair], key: TemplateKey, progress: Callable[[], None] | None = None
) -> EvaluationReport:
    images = sorted({p.image_a for p in pairs} | {p.image_b for p in pairs})
    embeddings = embed_images(engine, images, progress)
    protector = engine.protector(key)
    templates = {p: protector.protect(e) for p, e in embeddings.items() if e is not None}
    cos, ham, labels = [], [], []
    for pair in pairs:
        ea, eb = embeddings[pair.image_a], embeddings[pair.image_b]
        if ea is None or eb is None:
            continue
        cos.append(float(np.dot(ea, eb)))
        ham.append(hamming_similarity(templates[pair.image_a], templates[pair.image_b]))
        labels.append(pair.same)
    lab = np.asarray(labels, dtype=bool)
    cos_a, ham_a = np.asarray(cos, dtype=np.float64), np.asarray(ham, dtype=np.float64)
    sims = np.asarray([engine.sim(h) for h in ham_a])
    accuracy = float(np.mean((sims >= engine.threshold) == lab)) if len(lab) else None
    failed = [str(p.name) for p, e in embeddings.items() if e is None]
    return EvaluationReport(
        pairs=len(pairs),
        failures_to_enrol=len(failed),
        failed_images=failed,
        threshold=engine.threshold,
        cosine=roc_metrics(cos_a, lab),
        template=roc_metrics(ham_a, lab),
        accuracy_at_threshold=None if accuracy is None else round(accuracy, 5),
        scores={"cosine": cos_a, "template": ham_a},
        labels=lab,
    )


def plot(report: EvaluationReport, path: Path) -> None:
    """ROC and DET-style (log FMR) curves for both score kinds, written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (roc_ax, det_ax) = plt.subplots(1, 2, figsize=(10, 4.5))
    for kind, scores in report.scores.items():
        g, i = scores[report.labels], scores[~report.labels]
        if len(g) == 0 or len(i) == 0:
            continue
        th = np.unique(scores)[::-1]
        tar = np.array([(g >= t).mean() for t in th])
        fmr = np.array([(i >= t).mean() for t in th])
        roc_ax.plot(fmr, tar, label=kind)
        det_ax.plot(np.maximum(fmr, 1e-5), 1 - tar, label=kind)
    roc_ax.set(xlabel="FMR", ylabel="TAR", title="ROC")
    det_ax.set(xscale="log", xlabel="FMR (log)", ylabel="FNMR", title="DET")
    roc_ax.legend()
    det_ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
