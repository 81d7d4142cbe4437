"""Score calibration: raw cosine or template Hamming similarity -> ``sim`` 0-100.

``sim`` is a monotone piecewise-linear map through knots placed at fixed false-match rates:
FMR 1e-2 -> 60, 1e-3 -> 70, 1e-4 -> 80, 1e-5 -> 90, 1e-6 -> 95 (plus 0.5 -> 20, 1e-1 -> 40,
and the maximum score -> 100). Method (docs/biometrics.md, "Calibration"):

* the impostor population is every pair of different identities in the fitting half of the
  shared data (photos and frames sampled across video clips); each pair's cosine goes into a
  histogram of 0.001-wide bins;
* template scores: under a random key, a pair with cosine ``c`` agrees on Binomial(bits,
  1 - arccos(c)/pi) bits (Charikar 2002). The false-match rate averaged over keys is therefore the
  binomial tail mixed over the impostor cosines, computed exactly (:func:`template_survival`);
* beyond the data, a normal fitted to the upper tail of the impostor cosines (probit regression
  on the empirical quantiles from 1e-1 down to the last level with 10 pairs above it) extrapolates;
  at every score the larger of the empirical and the fitted false-match rate counts;
* confidence: identities are resampled with replacement (pairs of one identity are not
  independent) and each knot is the one-sided 95 % upper bound of its score over the resamples.

One table per embedder name (``sface``, ``dlib``, ``fusion``) and, inside it, template knots for
each template size in :data:`TEMPLATE_SIZES` (a template is scored with the knots of its own
size, so templates of an older, shorter key keep their meaning). The tables are written by
``benchmarks/calibrate_faces.py --write`` to ``calibration.json`` in this package.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
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
TABLE_VERSION = 3
EMBEDDERS: tuple[str, ...] = ("sface", "dlib", "fusion")
TEMPLATE_SIZES: tuple[int, ...] = (1024, 2048, 4096)
BIN = 0.001  # cosine histogram bin width
GRID: FloatArray = np.linspace(-1.0, 1.0, round(2 / BIN) + 1)
TAIL_LEVELS: tuple[float, ...] = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4)
TAIL_MIN_PAIRS = 10.0  # a tail level is used when at least this many pairs lie above it
CONFIDENCE = 0.95
HELD_OUT_MOD = 3  # one identity in three is held out of the fit (by a hash of its label)


def is_held_out(identity: str) -> bool:
    """Whether the calibration never fits on ``identity`` (label as in benchmarks/face_population.py)."""
    return int(hashlib.sha256(identity.encode()).hexdigest(), 16) % HELD_OUT_MOD == 0


def _norm_sf(z: FloatArray) -> FloatArray:
    return np.asarray([0.5 * math.erfc(v / math.sqrt(2.0)) for v in np.atleast_1d(z)])


@functools.lru_cache(maxsize=256)
def _inverse_sf(fmr: float) -> float:
    lo, hi = -10.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if _norm_sf(np.array([mid]))[0] > fmr:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def cosine_bins(cosines: FloatArray) -> IntArray:
    """Index of each cosine's bin on :data:`GRID`."""
    return np.clip(np.rint((np.asarray(cosines, dtype=np.float64) + 1.0) / BIN), 0, len(GRID) - 1).astype(np.int64)


def histogram(cosines: FloatArray, weights: FloatArray | None = None) -> FloatArray:
    """Weighted counts of ``cosines`` on :data:`GRID` (weights default to 1: counts of pairs)."""
    return np.bincount(cosine_bins(cosines), weights=weights, minlength=len(GRID)).astype(np.float64)


@functools.lru_cache(maxsize=8)
def template_survival(bits: int) -> FloatArray:
    """``(len(GRID), bits + 1)``: P(at least k of ``bits`` agree) for a pair with each grid cosine."""
    p = np.clip(1.0 - np.arccos(GRID) / np.pi, 1e-15, 1 - 1e-15)
    k = np.arange(bits + 1, dtype=np.float64)
    lgam = np.array([math.lgamma(i + 1) for i in range(bits + 1)])
    log_comb = lgam[bits] - lgam - lgam[::-1]
    log_pmf = log_comb[None, :] + k[None, :] * np.log(p)[:, None] + (bits - k)[None, :] * np.log1p(-p)[:, None]
    pmf = np.exp(log_pmf)
    survival: FloatArray = np.minimum(np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1], 1.0)
    survival.setflags(write=False)  # cached: shared by every caller
    return survival


def weighted_quantile_sf(hist: FloatArray, level: float) -> float:
    """The cosine above which a fraction ``level`` of the histogram's weight lies."""
    total = hist.sum()
    above = np.cumsum(hist[::-1])[::-1] / total  # weight at or above each bin
    index = int(np.argmax(above <= level)) if np.any(above <= level) else len(GRID) - 1
    return float(GRID[index])


def fit_tail(hist: FloatArray) -> tuple[float, float]:
    """Normal (mean, std) fitted to the upper tail: least squares of quantile on z over the levels
    with at least :data:`TAIL_MIN_PAIRS` pairs above them."""
    total = hist.sum()
    levels = [lv for lv in TAIL_LEVELS if lv * total >= TAIL_MIN_PAIRS]
    if len(levels) < 2:
        raise ValueError("too few impostor pairs to fit the tail")
    z = np.asarray([_inverse_sf(lv) for lv in levels])
    q = np.asarray([weighted_quantile_sf(hist, lv) for lv in levels])
    std, mean = np.polyfit(z, q, 1)
    return float(mean), float(max(std, BIN))


def normal_hist(mean: float, std: float) -> FloatArray:
    """The fitted normal as unit-mass weights on :data:`GRID` (bins' probability mass)."""
    edges = np.concatenate(([-np.inf], (GRID[:-1] + GRID[1:]) / 2, [np.inf]))
    sf = _norm_sf((edges - mean) / std)
    return np.maximum(sf[:-1] - sf[1:], 0.0)


@dataclass(frozen=True)
class FmrCurves:
    """False-match rate as a function of score, for cosine and each template size."""

    cosine: FloatArray  # FMR(cosine >= GRID[i])
    template: dict[int, FloatArray]  # bits -> FMR(hamming similarity >= k / bits), k = 0..bits
    tail: tuple[float, float]


def fmr_curves(hist: FloatArray, sizes: Sequence[int] = TEMPLATE_SIZES) -> FmrCurves:
    """Conservative FMR curves from an impostor cosine histogram: max(empirical, tail model)."""
    mean, std = fit_tail(hist)
    emp = hist / hist.sum()
    par = normal_hist(mean, std)
    cos_emp = np.cumsum(emp[::-1])[::-1]
    cos_par = np.cumsum(par[::-1])[::-1]
    template = {}
    for bits in sizes:
        m = template_survival(bits)
        template[bits] = np.maximum(emp @ m, par @ m)
    return FmrCurves(np.maximum(cos_emp, cos_par), template, (mean, std))


def _first_at_or_below(curve: FloatArray, fmr: float) -> int:
    ok = curve <= fmr
    return int(np.argmax(ok)) if ok.any() else len(curve) - 1


def thresholds(curves: FmrCurves) -> dict[str, list[float]]:
    """Score at each :data:`FMR_KNOTS` rate: ``cosine`` and ``"<bits>"`` template thresholds."""
    out = {"cosine": [float(GRID[_first_at_or_below(curves.cosine, fmr)]) for fmr, _ in FMR_KNOTS]}
    for bits, curve in curves.template.items():
        out[str(bits)] = [_first_at_or_below(curve, fmr) / bits for fmr, _ in FMR_KNOTS]
    return out


def pair_weights(id_a: IntArray, id_b: IntArray, counts: FloatArray) -> FloatArray:
    """Weight of each pair in a resample that drew identity ``i`` ``counts[i]`` times."""
    return counts[id_a] * counts[id_b]


def bootstrap_thresholds(
    cosines: FloatArray,
    id_a: IntArray,
    id_b: IntArray,
    identities: int,
    *,
    resamples: int = 200,
    seed: int = 0,
    sizes: Sequence[int] = TEMPLATE_SIZES,
) -> dict[str, FloatArray]:
    """Thresholds (as :func:`thresholds`) for ``resamples`` identity resamples: name -> (resamples, knots)."""
    rng = np.random.default_rng(seed)
    bins = cosine_bins(cosines)
    runs: dict[str, list[list[float]]] = {}
    for _ in range(resamples):
        counts = rng.multinomial(identities, np.full(identities, 1.0 / identities)).astype(np.float64)
        weights = pair_weights(id_a, id_b, counts)
        hist = np.bincount(bins, weights=weights, minlength=len(GRID)).astype(np.float64)
        for name, values in thresholds(fmr_curves(hist, sizes)).items():
            runs.setdefault(name, []).append(values)
    return {name: np.asarray(values) for name, values in runs.items()}


def _knots(scores: Sequence[float] | FloatArray, low: float, high: float) -> list[list[float]]:
    knots = [[low, 0.0]] + [[round(float(s), 6), sim] for s, (_, sim) in zip(scores, FMR_KNOTS, strict=True)]
    knots.append([high, 100.0])
    return _monotone(knots)


def build_table(
    cosines: FloatArray,
    id_a: IntArray,
    id_b: IntArray,
    identities: int,
    *,
    embedder: str,
    default_bits: int,
    resamples: int = 200,
    sizes: Sequence[int] = TEMPLATE_SIZES,
) -> dict[str, Any]:
    """The calibration table of one embedder from its impostor pairs (cosine, identity indices)."""
    point = thresholds(fmr_curves(histogram(cosines), sizes))
    boot = bootstrap_thresholds(cosines, id_a, id_b, identities, resamples=resamples, sizes=sizes)
    upper = {name: np.quantile(values, CONFIDENCE, axis=0) for name, values in boot.items()}
    lower = {name: np.quantile(values, 1 - CONFIDENCE, axis=0) for name, values in boot.items()}
    mean, std = fit_tail(histogram(cosines))
    templates = {str(bits): _knots(np.maximum(upper[str(bits)], point[str(bits)]), 0.0, 1.0) for bits in sizes}
    return {
        "version": TABLE_VERSION,
        "embedder": embedder,
        "bits": default_bits,
        "impostor_fit": {"tail_mean": mean, "tail_std": std, "n": len(cosines), "identities": identities},
        "cosine": _knots(np.maximum(upper["cosine"], point["cosine"]), -1.0, 1.0),
        "template": templates[str(default_bits)],
        "templates": templates,
        "confidence": {
            "level": CONFIDENCE,
            "resamples": resamples,
            "fmr": [fmr for fmr, _ in FMR_KNOTS],
            "point": point,
            "lower": {name: [round(float(v), 6) for v in values] for name, values in lower.items()},
            "upper": {name: [round(float(v), 6) for v in values] for name, values in upper.items()},
        },
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
        """The template size new keys get."""
        return int(self.table["bits"])

    @property
    def sizes(self) -> tuple[int, ...]:
        """Template sizes this table can score."""
        return tuple(sorted(int(b) for b in self.table.get("templates", {str(self.bits): None})))

    def _knots(self, kind: str, bits: int | None) -> npt.NDArray[np.float64]:
        if kind == "template" and bits is not None and bits != self.bits:
            by_size = self.table.get("templates", {})
            if str(bits) not in by_size:
                raise ValueError(f"no calibration for {bits}-bit templates")
            return np.asarray(by_size[str(bits)], dtype=np.float64)
        return np.asarray(self.table[kind], dtype=np.float64)

    def sim(self, score: float, kind: str = "template", bits: int | None = None) -> float:
        """``sim`` of ``score``; ``bits`` picks the template size's knots (default: :attr:`bits`)."""
        knots = self._knots(kind, bits)
        return float(np.clip(np.interp(score, knots[:, 0], knots[:, 1]), 0.0, 100.0))

    def sims(self, scores: FloatArray, kind: str = "template", bits: int | None = None) -> FloatArray:
        """:meth:`sim` of every score in ``scores`` at once."""
        knots = self._knots(kind, bits)
        return np.clip(np.interp(np.asarray(scores, dtype=np.float64), knots[:, 0], knots[:, 1]), 0.0, 100.0)

    def score_for_sim(self, sim: float, kind: str = "template", bits: int | None = None) -> float:
        knots = self._knots(kind, bits)
        return float(np.interp(sim, knots[:, 1], knots[:, 0]))


@functools.lru_cache(maxsize=8)
def template_bits(embedder: str) -> int:
    """Template size new keys of ``embedder`` get, from its packaged table (no model is loaded)."""
    return Calibration.packaged(embedder).bits
