"""Template knots that hold for (almost) every app key, not only on average over keys.

The mean over keys of the false-match rate (what :func:`calibration.fmr_curves` computes) can
meet its target while single keys miss it by several times: a key's projection moves all the
comparisons of one pair of people (tens of video frames, nearly the same embeddings) together,
so under some keys a whole pair of people just under the cosine threshold crosses the template
threshold at once. The promise "sim 70 is FMR 1e-3" is made to every app, and each app has its
own key, so the template knots are also fitted per key:

* ``keys`` random keys (seeded, never the keys the held-out measurement uses) make templates of
  the fitting half's faces; each key gives its own false-match curve over the impostor pairs;
* at each knot's rate the score is the one where the ``quantile``-th key (over keys) reaches the
  rate: with ``quantile = 0.99`` (:data:`KEY_QUANTILE`; 0.95 before, which left about one key in a
  hundred above twice the rate on keys never fitted on), 99 keys in 100 have at most that rate at
  that score;
* identities are resampled with replacement (as for the other knots) and the knot is the one-sided
  95 % upper bound over the resamples;
* only rates the data can show are fitted this way (at least :data:`calibration.TAIL_MIN_PAIRS`
  impostor pairs above the rate); the knots of lower rates (sim 80 and above) keep the key-averaged
  tail model's, and never sit closer to the last fitted knot than that model puts them.

A table's template knot is the larger of this one and the key-averaged one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
KEY_QUANTILE = 0.99  # docs/biometrics.md, "On keys no choice saw": 0.95 left about one app in 100 above 2e-3
FIT_KEYS = 200  # the 99th-percentile key of 200 is the 3rd-highest one: less noise than of 100
FIT_KEYS_SEED = 1001  # calibrate_faces.py measures the held-out people under keys of seed 17


def key_curves(counts: IntArray, bits: int, weights: FloatArray) -> FloatArray:
    """``(keys, bits + 1)``: each key's weighted share of pairs with at least k agreeing bits.

    ``counts``: ``(keys, pairs)`` agreeing bits of every impostor pair under every key."""
    keys = counts.shape[0]
    flat = (np.arange(keys)[:, None] * (bits + 1) + counts).ravel()
    hist = np.bincount(flat, weights=np.tile(weights, keys), minlength=keys * (bits + 1)).reshape(keys, bits + 1)
    return np.cumsum(hist[:, ::-1], axis=1)[:, ::-1] / float(weights.sum())


def quantile_thresholds(curves: FloatArray, levels: Sequence[float], quantile: float) -> list[float]:
    """Hamming similarity at which the ``quantile``-th key's rate is at or below each of ``levels``."""
    bits = curves.shape[1] - 1
    upper = np.quantile(curves, quantile, axis=0)
    out = []
    for level in levels:
        ok = upper <= level
        out.append((int(np.argmax(ok)) if ok.any() else bits) / bits)
    return out


def key_quantile_knots(
    counts: IntArray,
    bits: int,
    id_a: IntArray,
    id_b: IntArray,
    identities: int,
    levels: Sequence[float],
    *,
    quantile: float = KEY_QUANTILE,
    confidence: float = 0.95,
    resamples: int = 100,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Per-key knots at ``levels``: the point estimate and its upper bound over identity resamples."""
    rng = np.random.default_rng(seed)
    point = quantile_thresholds(key_curves(counts, bits, np.ones(counts.shape[1])), levels, quantile)
    runs = []
    for _ in range(resamples):
        drawn = rng.multinomial(identities, np.full(identities, 1.0 / identities)).astype(np.float64)
        weights = drawn[id_a] * drawn[id_b]
        if weights.sum() == 0:
            continue
        runs.append(quantile_thresholds(key_curves(counts, bits, weights), levels, quantile))
    upper = np.maximum(np.quantile(np.asarray(runs), confidence, axis=0), point) if runs else np.asarray(point)
    return {"point": [round(v, 6) for v in point], "upper": [round(float(v), 6) for v in upper]}


def combine(mean_knots: Sequence[float], key_knots: Sequence[float]) -> list[float]:
    """Knot scores at every rate: the larger of the key-averaged and the per-key knot where the
    per-key one exists (the first ``len(key_knots)`` rates); below, the key-averaged knots, kept at
    least as far above the last per-key knot as the key-averaged model puts them."""
    fitted = len(key_knots)
    out = [max(m, k) for m, k in zip(mean_knots[:fitted], key_knots, strict=True)]
    if fitted and fitted < len(mean_knots):
        shift = out[-1] - mean_knots[fitted - 1]
        out.extend(max(m, m + shift) for m in mean_knots[fitted:])
    else:
        out.extend(mean_knots[fitted:])
    return out
