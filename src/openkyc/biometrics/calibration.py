"""Score calibration: raw cosine or template Hamming similarity -> ``sim`` 0-100.

``sim`` is a monotone piecewise-linear map through knots placed at fixed false-match rates:
FMR 1e-2 -> 60, 1e-3 -> 70, 1e-4 -> 80, 1e-5 -> 90, 1e-6 -> 95 (plus 0.5 -> 20, 1e-1 -> 40,
and the maximum score -> 100). Method (docs/biometrics.md, "Calibration"):

* the impostor population is every pair of different identities in the fitting half of the
  shared data (photos and frames sampled across video clips); each pair's cosine goes into a
  histogram of 0.001-wide bins;
* template scores: under a random key, a pair with cosine ``c`` agrees on a number of bits whose
  distribution depends on the template version (:mod:`openkyc.biometrics.agreement`: Binomial(bits,
  1 - arccos(c)/pi) for plain templates (Charikar 2002), simulated blocks for super-bit ones). The
  false-match rate averaged over keys is that distribution's tail mixed over the impostor cosines
  (:func:`template_survival`);
* beyond the data, a normal fitted to the upper tail of the impostor cosines (probit regression
  on the empirical quantiles from 1e-1 down to the last level with 10 pairs above it) extrapolates;
  at every score the larger of the empirical and the fitted false-match rate counts;
* confidence: identities are resampled with replacement (pairs of one identity are not
  independent) and each knot is the one-sided 95 % upper bound of its score over the resamples.
* for every app, not only on average: template knots are at least the per-key knots
  (:mod:`openkyc.biometrics.key_quantile`: the score where the 99th-percentile key reaches the rate,
  upper bound over identity resamples) at the rates the data can show.

One table per embedder name (``sface``, ``dlib``, ``fusion``) and, inside it, template knots for
each template format ``(version, bits)`` in :data:`TEMPLATE_FORMATS` (a template is scored with the
knots of its own format, so templates of an older key keep their meaning); ``bits`` and
``template_version`` name the format new keys get. The tables are written by
``benchmarks/calibrate_faces.py --write`` to ``calibration.json`` in this package.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from openkyc.biometrics import agreement, key_quantile
from openkyc.biometrics.agreement import BIN, GRID
from openkyc.biometrics.templates import PLAIN, SUPER_BIT

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
TEMPLATE_SIZES: tuple[int, ...] = (1024, 2048, 4096)  # version-1 (plain) template sizes
# every template format a table scores: (version, bits); docs/biometrics.md, "Calibration"
TEMPLATE_FORMATS: tuple[tuple[int, int], ...] = (
    *((PLAIN, bits) for bits in TEMPLATE_SIZES),
    (SUPER_BIT, 1024),
    (SUPER_BIT, 2048),
)
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


def template_survival(
    bits: int, version: int = PLAIN, dim: int = 128, samples: int = agreement.SUPER_BIT_SAMPLES
) -> FloatArray:
    """``(len(GRID), bits + 1)``: P(at least k of ``bits`` agree) for a pair with each grid cosine,
    for templates of ``version`` (:mod:`openkyc.biometrics.agreement`)."""
    return agreement.survival(bits, version, dim, samples)


def size_name(bits: int, version: int = PLAIN) -> str:
    """The name of a template size's knots in a table: ``"1024"`` (version 1), ``"v2:1024"``."""
    return str(bits) if version == PLAIN else f"v{version}:{bits}"


def parse_size(name: str) -> tuple[int, int]:
    """``(version, bits)`` of a :func:`size_name`."""
    version, _, bits = name.rpartition(":")
    return (int(version[1:]) if version else PLAIN), int(bits)


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
    template: dict[str, FloatArray]  # size_name -> FMR(hamming similarity >= k / bits), k = 0..bits
    tail: tuple[float, float]


def fmr_curves(
    hist: FloatArray,
    formats: Sequence[tuple[int, int]] = TEMPLATE_FORMATS,
    dim: int = 128,
    samples: int = agreement.SUPER_BIT_SAMPLES,
) -> FmrCurves:
    """Conservative FMR curves (averaged over keys) from an impostor cosine histogram:
    max(empirical, tail model), for each template format ``(version, bits)``."""
    mean, std = fit_tail(hist)
    emp = hist / hist.sum()
    par = normal_hist(mean, std)
    cos_emp = np.cumsum(emp[::-1])[::-1]
    cos_par = np.cumsum(par[::-1])[::-1]
    template = {}
    for version, bits in formats:
        m = template_survival(bits, version, dim, samples)
        template[size_name(bits, version)] = np.maximum(emp @ m, par @ m)
    return FmrCurves(np.maximum(cos_emp, cos_par), template, (mean, std))


def _first_at_or_below(curve: FloatArray, fmr: float) -> int:
    ok = curve <= fmr
    return int(np.argmax(ok)) if ok.any() else len(curve) - 1


def thresholds(curves: FmrCurves) -> dict[str, list[float]]:
    """Score at each :data:`FMR_KNOTS` rate: ``cosine`` and per-format (:func:`size_name`) template thresholds."""
    out = {"cosine": [float(GRID[_first_at_or_below(curves.cosine, fmr)]) for fmr, _ in FMR_KNOTS]}
    for name, curve in curves.template.items():
        bits = len(curve) - 1
        out[name] = [_first_at_or_below(curve, fmr) / bits for fmr, _ in FMR_KNOTS]
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
    formats: Sequence[tuple[int, int]] = TEMPLATE_FORMATS,
    dim: int = 128,
    samples: int = agreement.SUPER_BIT_SAMPLES,
) -> dict[str, FloatArray]:
    """Thresholds (as :func:`thresholds`) for ``resamples`` identity resamples: name -> (resamples, knots)."""
    rng = np.random.default_rng(seed)
    bins = cosine_bins(cosines)
    runs: dict[str, list[list[float]]] = {}
    for _ in range(resamples):
        counts = rng.multinomial(identities, np.full(identities, 1.0 / identities)).astype(np.float64)
        weights = pair_weights(id_a, id_b, counts)
        hist = np.bincount(bins, weights=weights, minlength=len(GRID)).astype(np.float64)
        for name, values in thresholds(fmr_curves(hist, formats, dim, samples)).items():
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
    default_version: int = PLAIN,
    resamples: int = 200,
    formats: Sequence[tuple[int, int]] = TEMPLATE_FORMATS,
    dim: int = 128,
    samples: int = agreement.SUPER_BIT_SAMPLES,
    key_counts: Mapping[str, IntArray] | None = None,
    key_resamples: int = 100,
    per_key_quantile: float = key_quantile.KEY_QUANTILE,
) -> dict[str, Any]:
    """The calibration table of one embedder from its impostor pairs (cosine, identity indices);
    ``samples``: simulated blocks for the super-bit agreement distribution; ``key_counts``: per
    format name, the agreeing bits of every impostor pair under each of some random keys
    ``(keys, pairs)``, for per-key knots (:mod:`openkyc.biometrics.key_quantile`) at the
    ``per_key_quantile``-th key."""
    point = thresholds(fmr_curves(histogram(cosines), formats, dim, samples))
    boot = bootstrap_thresholds(
        cosines, id_a, id_b, identities, resamples=resamples, formats=formats, dim=dim, samples=samples
    )
    upper = {name: np.quantile(values, CONFIDENCE, axis=0) for name, values in boot.items()}
    lower = {name: np.quantile(values, 1 - CONFIDENCE, axis=0) for name, values in boot.items()}
    mean, std = fit_tail(histogram(cosines))
    names = [size_name(bits, version) for version, bits in formats]
    averaged = {name: [float(v) for v in np.maximum(upper[name], point[name])] for name in names}
    levels = [fmr for fmr, _ in FMR_KNOTS if fmr * len(cosines) >= TAIL_MIN_PAIRS]
    per_key: dict[str, Any] = {}
    for name, counts in (key_counts or {}).items():
        bits = parse_size(name)[1]
        knots = key_quantile.key_quantile_knots(
            counts, bits, id_a, id_b, identities, levels, quantile=per_key_quantile, resamples=key_resamples
        )
        per_key[name] = {"keys": int(counts.shape[0]), "quantile": per_key_quantile, **knots}
    templates = {
        name: _knots(
            key_quantile.combine(averaged[name], per_key[name]["upper"]) if name in per_key else averaged[name],
            0.0,
            1.0,
        )
        for name in names
    }
    return {
        "version": TABLE_VERSION,
        "embedder": embedder,
        "bits": default_bits,
        "template_version": default_version,
        "impostor_fit": {"tail_mean": mean, "tail_std": std, "n": len(cosines), "identities": identities},
        "cosine": _knots(np.maximum(upper["cosine"], point["cosine"]), -1.0, 1.0),
        "template": templates[size_name(default_bits, default_version)],
        "templates": templates,
        "confidence": {
            "level": CONFIDENCE,
            "resamples": resamples,
            "fmr": [fmr for fmr, _ in FMR_KNOTS],
            "point": point,
            "lower": {name: [round(float(v), 6) for v in values] for name, values in lower.items()},
            "upper": {name: [round(float(v), 6) for v in values] for name, values in upper.items()},
            "per_key": {"levels": levels, **per_key},
            "key_averaged": {name: _knots(values, 0.0, 1.0) for name, values in averaged.items()},
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
    def version(self) -> int:
        """The template version (projection) new keys get; tables without one predate version 2."""
        return int(self.table.get("template_version", PLAIN))

    @property
    def sizes(self) -> tuple[int, ...]:
        """Version-1 (plain) template sizes this table can score."""
        return tuple(sorted(bits for version, bits in self.formats if version == PLAIN))

    @property
    def formats(self) -> tuple[tuple[int, int], ...]:
        """Template formats ``(version, bits)`` this table can score."""
        names = self.table.get("templates", {size_name(self.bits, self.version): None})
        return tuple(sorted(parse_size(name) for name in names))

    def _knots(self, kind: str, bits: int | None, version: int | None = None) -> npt.NDArray[np.float64]:
        if kind == "template":
            name = size_name(bits or self.bits, version or self.version)
            if name != size_name(self.bits, self.version):
                by_size = self.table.get("templates", {})
                if name not in by_size:
                    raise ValueError(
                        f"no calibration for {bits or self.bits}-bit version-{version or self.version} templates"
                    )
                return np.asarray(by_size[name], dtype=np.float64)
        return np.asarray(self.table[kind], dtype=np.float64)

    def sim(self, score: float, kind: str = "template", bits: int | None = None, version: int | None = None) -> float:
        """``sim`` of ``score``; ``bits`` and ``version`` pick the template format's knots (default:
        :attr:`bits`, :attr:`version`)."""
        knots = self._knots(kind, bits, version)
        return float(np.clip(np.interp(score, knots[:, 0], knots[:, 1]), 0.0, 100.0))

    def sims(
        self, scores: FloatArray, kind: str = "template", bits: int | None = None, version: int | None = None
    ) -> FloatArray:
        """:meth:`sim` of every score in ``scores`` at once."""
        knots = self._knots(kind, bits, version)
        return np.clip(np.interp(np.asarray(scores, dtype=np.float64), knots[:, 0], knots[:, 1]), 0.0, 100.0)

    def score_for_sim(
        self, sim: float, kind: str = "template", bits: int | None = None, version: int | None = None
    ) -> float:
        knots = self._knots(kind, bits, version)
        return float(np.interp(sim, knots[:, 1], knots[:, 0]))


@functools.lru_cache(maxsize=8)
def template_bits(embedder: str) -> int:
    """Template size new keys of ``embedder`` get, from its packaged table (no model is loaded)."""
    return Calibration.packaged(embedder).bits


@functools.lru_cache(maxsize=8)
def template_version(embedder: str) -> int:
    """Template version new keys of ``embedder`` get, from its packaged table (no model is loaded)."""
    return Calibration.packaged(embedder).version


@functools.lru_cache(maxsize=16)
def new_key_format(embedder: str, bits: int) -> tuple[int, int]:
    """``(bits, version)`` of a new key of ``embedder`` at ``bits`` (``OPENKYC_TEMPLATE_BITS``): the
    table's template version at that size. Refused when the table has no knots for the format, so a
    new key never makes templates that cannot be scored."""
    version = template_version(embedder)
    if (version, bits) not in Calibration.packaged(embedder).formats:
        raise ValueError(f"no calibration for {bits}-bit version-{version} {embedder} templates")
    return bits, version
