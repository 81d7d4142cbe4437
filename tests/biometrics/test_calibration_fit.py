"""The calibration method (benchmarks/calibrate_faces.py fits the shipped tables with it) and the
per-size scoring of templates: fast, synthetic data and fake models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from openkyc.biometrics import agreement
from openkyc.biometrics import calibration as cal_mod
from openkyc.biometrics.calibration import (
    FMR_KNOTS,
    TEMPLATE_SIZES,
    Calibration,
    build_table,
    fit_tail,
    fmr_curves,
    histogram,
    template_survival,
    thresholds,
)
from openkyc.biometrics.evaluation import key_spread, operating_point, random_keys, template_similarities
from openkyc.biometrics.key_quantile import FIT_KEYS, KEY_QUANTILE
from openkyc.biometrics.templates import (
    DEFAULT_BITS,
    PLAIN,
    SUPER_BIT,
    TemplateKey,
    TemplateProtector,
    hamming_similarity,
)

SAMPLES = 40_000  # simulated super-bit blocks in these fast tests (the shipped fit uses 400,000)


def _pair_with_cosine(rng: np.random.Generator, cosine: float, dim: int = 128) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal(dim)
    x /= np.linalg.norm(x)
    n = rng.standard_normal(dim)
    n -= (n @ x) * x
    n /= np.linalg.norm(n)
    y = cosine * x + math.sqrt(1 - cosine**2) * n
    return x.astype(np.float32), y.astype(np.float32)


def test_binomial_mixture_matches_the_products_projection_over_keys() -> None:
    """The exact key-averaged survival equals what the real projection gives over many keys."""
    rng = np.random.default_rng(5)
    x, y = _pair_with_cosine(rng, 0.3)
    bits = 1024
    scores = []
    for i in range(400):
        p = TemplateProtector(TemplateKey(f"k{i}", rng.bytes(32)), bits=bits)
        scores.append(hamming_similarity(p.protect(x), p.protect(y)))
    row = template_survival(bits)[cal_mod.cosine_bins(np.array([0.3]))[0]]
    for h in (0.58, 0.60, 0.62):
        predicted = float(row[math.ceil(h * bits)])
        observed = float(np.mean(np.asarray(scores) >= h))
        assert abs(predicted - observed) < 0.08, (h, predicted, observed)
    assert np.all(np.diff(row) <= 1e-12) and row[0] == pytest.approx(1.0)


def test_super_bit_distribution_matches_the_products_projection_over_keys() -> None:
    """The super-bit agreement distribution (Monte Carlo over blocks, convolved) is what the real
    version-2 projection gives over many keys, and is narrower than the binomial of version 1."""
    rng = np.random.default_rng(15)
    x, y = _pair_with_cosine(rng, 0.35)
    bits, dim = 1024, 128
    scores = []
    for i in range(150):
        p = TemplateProtector(TemplateKey(f"k{i}", rng.bytes(32)), bits=bits, version=SUPER_BIT)
        scores.append(hamming_similarity(p.protect(x), p.protect(y)))
    pmf = agreement._convolve_power(agreement.super_bit_block_pmf(dim, dim, SAMPLES), bits // dim)
    row = pmf[cal_mod.cosine_bins(np.array([0.35]))[0]]
    k = np.arange(bits + 1) / bits
    mean, std = float(row @ k), math.sqrt(float(row @ (k - row @ k) ** 2))
    assert row.sum() == pytest.approx(1.0, abs=1e-6)
    assert mean == pytest.approx(1 - math.acos(0.35) / math.pi, abs=5e-4)  # each bit: 1 - angle/pi
    assert float(np.mean(scores)) == pytest.approx(mean, abs=0.004)
    assert float(np.std(scores)) == pytest.approx(std, rel=0.2)
    binomial_std = math.sqrt(mean * (1 - mean) / bits)
    assert std < 0.85 * binomial_std  # the point of orthogonal blocks: less key-to-key noise


def test_tail_fit_recovers_a_normal_and_curves_are_conservative() -> None:
    rng = np.random.default_rng(6)
    cos = rng.normal(0.05, 0.1, 200_000)
    mean, std = fit_tail(histogram(cos))
    assert mean == pytest.approx(0.05, abs=0.01) and std == pytest.approx(0.1, abs=0.01)
    curves = fmr_curves(histogram(cos), ((PLAIN, 1024),))
    knots = thresholds(curves)
    true_q = 0.05 + 0.1 * 3.0902  # normal quantile at 1e-3
    at70 = knots["cosine"][[sim for _, sim in FMR_KNOTS].index(70.0)]
    assert true_q - 0.005 <= at70 <= true_q + 0.02  # at or above the truth, not far off
    assert float(np.mean(cos >= at70)) <= 1.1e-3


def test_heavy_tail_is_not_hidden_by_the_normal() -> None:
    """A cluster of similar impostors above the normal's tail moves the knot up (empirical wins)."""
    rng = np.random.default_rng(7)
    body = rng.normal(0.05, 0.1, 100_000)
    heavy = np.concatenate([body, np.full(300, 0.5)])  # 3e-3 of pairs at cosine 0.5
    knot_body = thresholds(fmr_curves(histogram(body), ((PLAIN, 1024),)))["cosine"][3]
    knot_heavy = thresholds(fmr_curves(histogram(heavy), ((PLAIN, 1024),)))["cosine"][3]
    assert knot_heavy > 0.5 > knot_body
    assert float(np.mean(heavy >= knot_heavy)) <= 1e-3


def test_build_table_confidence_and_sizes() -> None:
    rng = np.random.default_rng(8)
    identities = 60
    a, b = np.triu_indices(identities, 1)
    id_a, id_b = np.repeat(a, 20), np.repeat(b, 20)  # 20 pairs per identity pair
    cos = rng.normal(0.05, 0.1, len(id_a)) + rng.normal(0, 0.03, identities)[id_a]
    table = build_table(cos, id_a, id_b, identities, embedder="sface", default_bits=4096, resamples=30, samples=SAMPLES)
    conf = table["confidence"]
    for name in ("cosine", *(str(s) for s in TEMPLATE_SIZES)):
        assert np.all(np.asarray(conf["upper"][name]) >= np.asarray(conf["lower"][name]))
    cal = Calibration(table)
    assert cal.bits == 4096 and cal.sizes == TEMPLATE_SIZES
    # the knot is the upper bound: at or above the point estimate
    assert cal.score_for_sim(70, "cosine") >= conf["point"]["cosine"][3] - 1e-6
    # longer templates are less noisy: their sim-70 Hamming threshold is lower
    t70 = [cal.score_for_sim(70, "template", bits) for bits in TEMPLATE_SIZES]
    assert t70 == sorted(t70, reverse=True)
    for bits in TEMPLATE_SIZES:
        assert cal.sim(cal.score_for_sim(70, "template", bits), "template", bits) == pytest.approx(70)
    with pytest.raises(ValueError, match="512-bit"):
        cal.sim(0.6, "template", 512)


def test_packaged_tables_score_every_size() -> None:
    for name in cal_mod.EMBEDDERS:
        cal = Calibration.packaged(name)
        assert cal.bits == DEFAULT_BITS and cal.sizes == TEMPLATE_SIZES and cal.version == SUPER_BIT
        assert cal.formats == tuple(sorted(cal_mod.TEMPLATE_FORMATS))
        per_key = cal.table["confidence"]["per_key"]
        assert per_key["levels"] == [0.5, 1e-1, 1e-2, 1e-3]  # the rates the fit data can show
        for name in cal.table["templates"]:  # fitted for the 99th-percentile key of 200 (key_quantile)
            assert (per_key[name]["quantile"], per_key[name]["keys"]) == (KEY_QUANTILE, FIT_KEYS) == (0.99, 200)
        for version, bits in cal.formats:
            knots = np.asarray(cal.table["templates"][cal_mod.size_name(bits, version)])
            averaged = np.asarray(cal.table["confidence"]["key_averaged"][cal_mod.size_name(bits, version)])
            assert np.all(knots[:, 0] >= averaged[:, 0] - 1e-6)  # per-key knots: never below the key average
        assert cal.table["data"]["held_out_identities"] > 0
        for bits in TEMPLATE_SIZES:
            knots = np.asarray(cal.table["templates"][str(bits)])
            assert np.all(np.diff(knots[:, 0]) > 0) and np.all(np.diff(knots[:, 1]) >= 0)


def test_operating_point_counts() -> None:
    sims = np.array([90.0, 71.0, 69.0, 75.0, 10.0, 70.0])
    labels = np.array([True, True, True, False, False, False])
    point = operating_point(sims, labels, 70.0)
    assert (point["false_matches"], point["impostor_pairs"], point["false_non_matches"]) == (2, 3, 1)
    assert point["fmr"] == pytest.approx(2 / 3) and point["fnmr"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("version", [PLAIN, SUPER_BIT])
def test_template_similarities_equal_the_protectors(version: int) -> None:
    rng = np.random.default_rng(9)
    vecs = rng.standard_normal((12, 128)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = np.array([(i, j) for i in range(12) for j in range(i + 1, 12)])
    key = random_keys(1, seed=3)[0]
    fast = template_similarities(vecs, index, key, 2048, version)
    p = TemplateProtector(key, bits=2048, version=version)
    slow = [hamming_similarity(p.protect(vecs[i]), p.protect(vecs[j])) for i, j in index]
    assert np.allclose(fast, slow)
    labels = np.zeros(len(index), bool)
    labels[:3] = True
    spread = key_spread(vecs, index, labels, Calibration.packaged(), random_keys(3, seed=4), bits=2048, version=version)
    assert spread["keys"] == 3 and len(spread["70"]["false_matches_per_key"]) == 3
    assert spread["70"]["impostor_pairs"] == len(index) - 3


def test_keys_of_an_older_size_keep_their_size_and_meaning() -> None:
    """A key made for 4096-bit templates keeps making 4096-bit templates, scored by the
    4096-bit knots; a key without a size gets the table's default."""
    from openkyc.biometrics.engine import FaceEngine

    class _Det:
        def detect(self, image: object) -> list[object]:
            return []

    class _Emb:
        name, dim = "sface", 128

        def embed(self, image: object, face: object) -> np.ndarray:
            raise AssertionError

    engine = FaceEngine(_Det(), _Emb(), Calibration.packaged("sface"), name="sface")  # type: ignore[arg-type]
    rng = np.random.default_rng(10)
    x, y = _pair_with_cosine(rng, 0.55)
    old_key = TemplateKey("tk-old", b"o" * 32, bits=4096, version=PLAIN)  # made before version 2
    old = engine.protector(old_key)
    assert old.bits == 4096 and engine.protector(TemplateKey("tk-new", b"n" * 32)).bits == DEFAULT_BITS
    result = engine.compare_templates(old.protect(x), old.protect(y))
    assert result.sim == pytest.approx(engine.calibration.sim(result.score, "template", 4096, PLAIN))
    assert result.match  # cosine 0.55 is far above any impostor
    cal = engine.calibration
    assert cal.score_for_sim(70, "template", 4096, PLAIN) != cal.score_for_sim(70, "template", DEFAULT_BITS)
    fresh = engine.protector(TemplateKey("tk-new", b"n" * 32))
    assert (fresh.bits, fresh.version) == (cal.bits, cal.version) == (DEFAULT_BITS, SUPER_BIT)
    sub = engine.protector(TemplateKey("tk-old", b"o" * 32, bits=4096, version=PLAIN))
    assert sub is old  # cached per key and size
