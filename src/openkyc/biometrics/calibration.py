"""Score calibration: raw cosine or template Hamming similarity -> ``sim`` 0-100.

``sim`` is a monotone piecewise-linear map through knots placed at fixed false-match rates:
FMR 1e-2 -> 60, 1e-3 -> 70, 1e-4 -> 80, 1e-5 -> 90, 1e-6 -> 95 (plus 0.5 -> 20, 1e-1 -> 40,
and the maximum score -> 100). The shared data has only a few thousand impostor pairs, so the
tail is extrapolated from a model (see docs/biometrics.md):

* raw cosine: impostor cosines are fitted by a normal distribution whose spread is widened, if
  needed, until it predicts at least the empirical FMR at 1e-2 and 1e-3 (a conservative fit);
* templates: for random hyperplanes the number of agreeing bits of a pair with cosine ``c`` is
  Binomial(bits, 1 - arccos(c)/pi); the template impostor distribution is that binomial mixed
  over the fitted cosine distribution, evaluated exactly.

Each embedder name (``sface``, ``dlib``, ``fusion``) has its own table, fitted the same way to its
own impostor cosines: a score is only meaningful against the table of the embedder that made it.
The tables are written by ``benchmarks/calibrate_faces.py`` to ``calibration.json`` in this package
(``{"version": 2, "embedders": {name: table}}``).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
FMR_KNOTS: tuple[tuple[float, float], ...] = (
    (0.5, 20.0),
    (1e-1, 40.0),
    (1e-2, 60.0),
    (1e-3, 70.0),
    (1e-4, 80.0),
    (1e-5, 90.0),
    (1e-6, 95.0),
)
DEFAULT_THRESHOLD = 70.0
TABLE_FILE = "calibration.json"
EMBEDDERS: tuple[str, ...] = ("sface", "dlib", "fusion")


def _norm_sf(z: FloatArray) -> FloatArray:
    return np.asarray([0.5 * math.erfc(v / math.sqrt(2.0)) for v in np.atleast_1d(z)])


def fit_impostor_normal(impostor: FloatArray) -> tuple[float, float]:
    """Mean and (conservatively widened) spread of the impostor cosine distribution."""
    mean, std = float(np.mean(impostor)), float(np.std(impostor, ddof=1))
    for fmr in (1e-2, 1e-3):
        if len(impostor) * fmr >= 3:  # enough samples above the quantile to trust it
            q = float(np.quantile(impostor, 1 - fmr))
            z = float(_inverse_sf(fmr))
            std = max(std, (q - mean) / z)
    return mean, std


def _inverse_sf(fmr: float) -> float:
    lo, hi = -10.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if _norm_sf(np.array([mid]))[0] > fmr:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def cosine_fmr(threshold: float, mean: float, std: float) -> float:
    return float(_norm_sf(np.array([(threshold - mean) / std]))[0])


def template_fmr_curve(mean: float, std: float, bits: int) -> tuple[FloatArray, FloatArray]:
    """(hamming similarity k/bits, P(impostor >= it)) for k = 0..bits, by exact mixture."""
    cos = np.linspace(max(-1.0, mean - 9 * std), min(1.0, mean + 9 * std), 721)
    weight = np.exp(-0.5 * ((cos - mean) / std) ** 2)
    weight /= weight.sum()
    p = np.clip(1.0 - np.arccos(cos) / np.pi, 1e-12, 1 - 1e-12)
    k = np.arange(bits + 1, dtype=np.float64)
    log_comb = np.array(
        [math.lgamma(bits + 1) - math.lgamma(i + 1) - math.lgamma(bits - i + 1) for i in range(bits + 1)]
    )
    log_pmf = log_comb[None, :] + k[None, :] * np.log(p)[:, None] + (bits - k)[None, :] * np.log1p(-p)[:, None]
    pmf = (np.exp(log_pmf) * weight[:, None]).sum(axis=0)
    survival = np.cumsum(pmf[::-1])[::-1]
    return k / bits, np.minimum(survival, 1.0)


def _threshold_for(fmr: float, scores: FloatArray, fmrs: FloatArray) -> float:
    """Smallest score whose FMR is at most ``fmr`` (``fmrs`` decreasing along ``scores``)."""
    index = int(np.argmax(fmrs <= fmr))
    return float(scores[index])


def build_table(impostor_cosine: FloatArray, *, bits: int, embedder: str) -> dict[str, Any]:
    """The calibration table (knots for both score kinds) from impostor cosine scores."""
    mean, std = fit_impostor_normal(impostor_cosine)
    cosine_knots = [[-1.0, 0.0]]
    for fmr, sim in FMR_KNOTS:
        cosine_knots.append([round(mean + std * _inverse_sf(fmr), 6), sim])
    cosine_knots.append([1.0, 100.0])
    hs, tfmr = template_fmr_curve(mean, std, bits)
    template_knots = [[0.0, 0.0]]
    for fmr, sim in FMR_KNOTS:
        template_knots.append([round(_threshold_for(fmr, hs, tfmr), 6), sim])
    template_knots.append([1.0, 100.0])
    return {
        "version": 1,
        "embedder": embedder,
        "bits": bits,
        "impostor_fit": {"mean": mean, "std": std, "n": len(impostor_cosine)},
        "cosine": _monotone(cosine_knots),
        "template": _monotone(template_knots),
        "default_threshold": DEFAULT_THRESHOLD,
    }


def _monotone(knots: list[list[float]]) -> list[list[float]]:
    out: list[list[float]] = []
    for score, sim in knots:
        if out and score <= out[-1][0]:
            score = out[-1][0] + 1e-6
        out.append([score, sim])
    return out


@dataclass(frozen=True)
class Calibration:
    """Maps a raw score to ``sim``; ``kind`` is ``"cosine"`` or ``"template"``."""

    table: dict[str, Any]

    @classmethod
    def packaged(cls, embedder: str = "sface") -> Calibration:
        """The shipped table of ``embedder`` (``sface``, ``dlib`` or ``fusion``)."""
        text = resources.files("openkyc.biometrics").joinpath(TABLE_FILE).read_text("utf-8")
        tables: dict[str, Any] = json.loads(text)["embedders"]
        if embedder not in tables:
            raise ValueError(f"no calibration table for embedder {embedder!r}")
        return cls(tables[embedder])

    @property
    def embedder(self) -> str:
        return str(self.table["embedder"])

    @property
    def bits(self) -> int:
        return int(self.table["bits"])

    def sim(self, score: float, kind: str = "template") -> float:
        knots = np.asarray(self.table[kind], dtype=np.float64)
        return float(np.clip(np.interp(score, knots[:, 0], knots[:, 1]), 0.0, 100.0))

    def score_for_sim(self, sim: float, kind: str = "template") -> float:
        knots = np.asarray(self.table[kind], dtype=np.float64)
        return float(np.interp(sim, knots[:, 1], knots[:, 0]))


@functools.lru_cache(maxsize=8)
def template_bits(embedder: str) -> int:
    """Template size of ``embedder`` from its packaged table (no model is loaded)."""
    return Calibration.packaged(embedder).bits
