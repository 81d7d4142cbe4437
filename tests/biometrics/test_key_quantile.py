"""Per-key template knots (openkyc.biometrics.key_quantile): synthetic populations, real projections."""

from __future__ import annotations

import numpy as np
import pytest

from openkyc.biometrics.calibration import FMR_KNOTS, build_table, size_name
from openkyc.biometrics.evaluation import random_keys, template_similarities
from openkyc.biometrics.key_quantile import combine, key_curves, key_quantile_knots, quantile_thresholds
from openkyc.biometrics.templates import PLAIN


def _blocky_population(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """40 identities of 6 nearly identical faces each (like video frames), random directions, plus
    two identities whose faces sit at cosine ~0.42: one block of 36 impostor pairs near the top."""
    identities, per = 40, 6
    centres = rng.standard_normal((identities, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    shared = rng.standard_normal(128)
    shared /= np.linalg.norm(shared)
    centres[:2] = 0.65 * shared + 0.76 * centres[:2]  # cosine about 0.42 between identities 0 and 1
    faces = np.repeat(centres, per, axis=0) + 0.05 * rng.standard_normal((identities * per, 128))
    faces = (faces / np.linalg.norm(faces, axis=1, keepdims=True)).astype(np.float32)
    owner = np.repeat(np.arange(identities), per)
    a, b = np.triu_indices(len(faces), 1)
    keep = owner[a] != owner[b]
    index = np.stack([a[keep], b[keep]], axis=1)
    return faces, index, owner[index[:, 0]], owner[index[:, 1]], identities


def test_per_key_knot_holds_for_most_keys_where_the_key_average_does_not() -> None:
    rng = np.random.default_rng(21)
    faces, index, id_a, id_b, identities = _blocky_population(rng)
    bits, level = 1024, 1e-3  # the block alone is 36 / 28,440 = 1.3e-3 of the impostor pairs
    counts = np.stack(
        [np.rint(template_similarities(faces, index, k, bits, PLAIN) * bits) for k in random_keys(60, seed=5)]
    ).astype(np.int64)
    curves = key_curves(counts, bits, np.ones(counts.shape[1]))
    assert curves.shape == (60, bits + 1) and np.allclose(curves[:, 0], 1.0)
    mean_knot = int(np.argmax(curves.mean(axis=0) <= level)) / bits
    q95 = quantile_thresholds(curves, [level], 0.95)[0]
    assert q95 >= mean_knot
    held = np.stack(
        [np.rint(template_similarities(faces, index, k, bits, PLAIN) * bits) for k in random_keys(40, seed=6)]
    )
    rates = (held >= np.ceil(q95 * bits - 1e-9)).mean(axis=1)
    assert float(np.quantile(rates, 0.9)) <= level  # new keys: most of them keep the rate
    knots = key_quantile_knots(
        counts, bits, id_a, id_b, identities, [0.5, 1e-1, 1e-2, level], quantile=0.95, resamples=20
    )
    assert knots["upper"][3] >= knots["point"][3] == pytest.approx(q95)
    assert knots["upper"] == sorted(knots["upper"])


def test_combine_keeps_the_extrapolated_gaps() -> None:
    mean = [0.54, 0.57, 0.60, 0.63, 0.65, 0.67, 0.69]
    assert combine(mean, [0.55, 0.56, 0.61, 0.645]) == pytest.approx([0.55, 0.57, 0.61, 0.645, 0.665, 0.685, 0.705])
    assert combine(mean, [0.5, 0.5, 0.5, 0.5]) == pytest.approx(mean)  # never below the key average
    assert combine(mean, []) == mean


def test_build_table_uses_the_per_key_knots() -> None:
    rng = np.random.default_rng(22)
    faces, index, id_a, id_b, identities = _blocky_population(rng)
    cos = np.einsum("ij,ij->i", faces[index[:, 0]], faces[index[:, 1]]).astype(np.float64)
    counts = np.stack(
        [np.rint(template_similarities(faces, index, k, 1024, PLAIN) * 1024) for k in random_keys(30, seed=7)]
    ).astype(np.int64)
    name = size_name(1024, PLAIN)
    table = build_table(
        cos, id_a, id_b, identities, embedder="sface", default_bits=1024, formats=((PLAIN, 1024),),
        resamples=20, key_counts={name: counts}, key_resamples=20,
    )  # fmt: skip
    per_key = table["confidence"]["per_key"]
    fitted = len(per_key["levels"])
    assert per_key["levels"] == [fmr for fmr, _ in FMR_KNOTS][:fitted] and fitted >= 3
    knots = [score for score, _ in table["templates"][name][1:-1]]
    averaged = [score for score, _ in table["confidence"]["key_averaged"][name][1:-1]]
    assert all(k >= a - 1e-6 for k, a in zip(knots, averaged, strict=True))
    assert knots[:fitted] == pytest.approx(np.maximum(averaged[:fitted], per_key[name]["upper"]), abs=1e-5)
    assert table["template"] == table["templates"][name]


def test_a_higher_key_quantile_gives_knots_at_least_as_high() -> None:
    """The shipped knots are fitted for the 99th-percentile key (docs/biometrics.md, "On keys no
    choice saw"): at each fitted rate such a knot is at or above the 95th-percentile key's, and
    the table records which quantile it was fitted for."""
    rng = np.random.default_rng(23)
    faces, index, id_a, id_b, identities = _blocky_population(rng)
    cos = np.einsum("ij,ij->i", faces[index[:, 0]], faces[index[:, 1]]).astype(np.float64)
    counts = np.stack(
        [np.rint(template_similarities(faces, index, k, 1024, PLAIN) * 1024) for k in random_keys(60, seed=8)]
    ).astype(np.int64)
    name = size_name(1024, PLAIN)
    tables = {}
    for q in (0.95, 0.99):
        tables[q] = build_table(
            cos, id_a, id_b, identities, embedder="sface", default_bits=1024, formats=((PLAIN, 1024),),
            resamples=10, key_counts={name: counts}, key_resamples=10, per_key_quantile=q,
        )  # fmt: skip
    low, high = (tables[q]["confidence"]["per_key"][name] for q in (0.95, 0.99))
    assert (low["quantile"], high["quantile"]) == (0.95, 0.99)
    assert all(h >= lo for h, lo in zip(high["point"], low["point"], strict=True))
    assert all(h >= lo for h, lo in zip(high["upper"], low["upper"], strict=True))
    assert high["point"][3] > low["point"][3]  # the close block: the 99th-percentile key lets more of it through
    knots = {q: tables[q]["templates"][name] for q in tables}
    assert knots[0.99][4][0] >= knots[0.95][4][0]  # the sim-70 knot
