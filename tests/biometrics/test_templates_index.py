from __future__ import annotations

import itertools

import numpy as np
import pytest

from openkyc import errors
from openkyc.biometrics.calibration import Calibration, normal_hist, template_survival
from openkyc.biometrics.index import TemplateIndex
from openkyc.biometrics.registry import MODELS, verify_models
from openkyc.biometrics.templates import (
    DEFAULT_BITS,
    PLAIN,
    SUPER_BIT,
    TEMPLATE_VERSIONS,
    FaceTemplate,
    TemplateKey,
    TemplateProtector,
    hamming_similarity,
    projection_matrix,
)

KEY_A = TemplateKey("app-a", b"A" * 32)
KEY_B = TemplateKey("app-b", b"B" * 32)


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(128).astype(np.float32)
    return v / np.linalg.norm(v)


def test_roundtrip_and_repr_hides_bits() -> None:
    t = TemplateProtector(KEY_A).protect(_unit(np.random.default_rng(1)))
    assert FaceTemplate.from_bytes(t.to_bytes()) == t
    assert t.data.hex() not in repr(t) and "A" * 32 not in repr(KEY_A)


@pytest.mark.parametrize(
    "blob", [b"", b"XXXX\x01\x04\x00\x01a", TemplateProtector(KEY_A).protect(np.ones(128, np.float32)).to_bytes()[:-1]]
)
def test_malformed_templates(blob: bytes) -> None:
    with pytest.raises(errors.TemplateMalformed):
        FaceTemplate.from_bytes(blob)


def test_templates_of_different_keys_do_not_compare() -> None:
    v = _unit(np.random.default_rng(2))
    a, b = TemplateProtector(KEY_A).protect(v), TemplateProtector(KEY_B).protect(v)
    with pytest.raises(errors.TemplateMismatch):
        TemplateProtector(KEY_A).similarity(a, b)


def test_hamming_tracks_angle() -> None:
    rng = np.random.default_rng(3)
    p = TemplateProtector(KEY_A, bits=2048)
    x, noise = _unit(rng), _unit(rng)
    y = x * 0.6 + noise * 0.8  # cosine about 0.6
    cos = float(x @ (y / np.linalg.norm(y)))
    expected = 1 - np.arccos(cos) / np.pi
    assert abs(p.similarity(p.protect(x), p.protect(y)) - expected) < 0.03


def test_index_matches_brute_force_and_remove() -> None:
    rng = np.random.default_rng(4)
    p = TemplateProtector(KEY_A, bits=1024)
    vecs = [_unit(rng) for _ in range(300)]
    index = TemplateIndex.build("app-a", 1024, ((i + 100, p.protect(v).to_bytes()) for i, v in enumerate(vecs)))
    query = p.protect(vecs[7] + 0.1 * _unit(rng))
    brute = sorted(range(300), key=lambda i: (-p.similarity(query, p.protect(vecs[i])), i))[:5]
    assert [m.id for m in index.search(query, 5)] == [i + 100 for i in brute]
    assert index.remove(107) and not index.remove(107) and 107 not in index
    assert index.search(query, 1)[0].id != 107 and len(index) == 299
    assert [m.id for m in index.duplicates(p.protect(vecs[8]), 0.99)] == [108]
    assert index.remove_many([108, 109, 5000]) == 2 and len(index) == 297
    assert sorted(index.row_ids.tolist()) == [i + 100 for i in range(300) if i not in (7, 8, 9)]
    batch = index.search_many([p.protect(vecs[20]), p.protect(vecs[30])], 1)
    assert [m[0].id for m in batch] == [120, 130]
    assert index.memory_bytes >= len(index) * (128 + 8)
    with pytest.raises(errors.TemplateMismatch):
        index.search(TemplateProtector(KEY_B).protect(vecs[0]))


def test_index_takes_its_width_from_the_templates() -> None:
    rng = np.random.default_rng(5)
    for bits in (512, 2048, 4096):
        p = TemplateProtector(KEY_A, bits=bits)
        vecs = [_unit(rng) for _ in range(20)]
        index = TemplateIndex.build("app-a", bits, ((i, p.protect(v).to_bytes()) for i, v in enumerate(vecs)))
        assert index.codes.shape == (20, bits // 8)
        assert index.search(p.protect(vecs[3]), 1)[0].id == 3


def test_calibration_is_monotone_and_hits_fmr_targets() -> None:
    cal = Calibration.packaged()
    scores = np.linspace(0, 1, 501)
    sims = [cal.sim(s) for s in scores]
    assert all(b >= a for a, b in itertools.pairwise(sims))
    fit = cal.table["impostor_fit"]
    tail = normal_hist(fit["tail_mean"], fit["tail_std"]) @ template_survival(cal.bits, cal.version)
    for sim, target in ((70, 1e-3), (80, 1e-4)):
        k = int(np.ceil(cal.score_for_sim(sim) * cal.bits - 1e-9))
        assert tail[k] <= target * 1.01  # the tail model alone never predicts more than the knot's rate


def test_registry_refuses_noncommercial_and_bad_sha(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(errors.ModelNotAllowed):
        verify_models(["dlib_68pt"])
    assert all(m.commercial_use for m in MODELS if m.name in ("yunet", "sface", "dlib_resnet", "dlib_5pt"))
    import openkyc.biometrics.registry as registry

    monkeypatch.setattr(registry, "sha256_file", lambda path: "0" * 64)
    with pytest.raises(errors.ModelIntegrityError):
        verify_models(["yunet"])


def test_plain_templates_are_unchanged_by_the_super_bit_version() -> None:
    """Version-1 templates (stored ones) come out bit for bit as before version 2 existed."""
    import hashlib

    v = np.random.default_rng(11).standard_normal(128).astype(np.float32)
    v /= np.linalg.norm(v)
    expected = {
        1024: "2a5544c03c002c8e15a6b9cf46f058a72052ce5fafb8f8259323b2d73c120d05",
        2048: "cc64ef6e1535ad10131d724a791c9deddf0e6e770edc4fbc7fbd685edc93e65a",
    }
    for bits, digest in expected.items():
        t = TemplateProtector(TemplateKey("kat", b"k" * 32), bits=bits, version=PLAIN).protect(v)
        assert t.version == PLAIN and hashlib.sha256(t.to_bytes()).hexdigest() == digest


@pytest.mark.parametrize(("dim", "bits"), [(128, 1024), (128, 2048), (256, 1024), (128, 192)])
def test_super_bit_projection_is_blocks_of_orthonormal_rows(dim: int, bits: int) -> None:
    m = projection_matrix(KEY_A, dim, bits, SUPER_BIT).astype(np.float64)
    assert m.shape == (bits, dim)
    np.testing.assert_array_equal(m, projection_matrix(KEY_A, dim, bits, SUPER_BIT))  # deterministic
    for start in range(0, bits, dim):
        block = m[start : start + dim]
        np.testing.assert_allclose(block @ block.T, np.eye(len(block)), atol=1e-5)
    assert not np.allclose(m[:dim], projection_matrix(KEY_B, dim, bits, SUPER_BIT)[:dim], atol=0.1)


def test_template_versions_roundtrip_and_never_compare_across_versions() -> None:
    v = _unit(np.random.default_rng(12))
    plain = TemplateProtector(KEY_A, version=PLAIN).protect(v)
    sb = TemplateProtector(KEY_A, version=SUPER_BIT).protect(v)
    assert (plain.version, sb.version) == (PLAIN, SUPER_BIT)
    for t in (plain, sb):
        assert FaceTemplate.from_bytes(t.to_bytes()) == t
    with pytest.raises(errors.TemplateMismatch):
        hamming_similarity(plain, sb)
    bad = bytearray(sb.to_bytes())
    bad[4] = 3  # an unknown version byte
    with pytest.raises(errors.TemplateMalformed):
        FaceTemplate.from_bytes(bytes(bad))
    # a key made for a version keeps it whatever the protector's default
    keyed = TemplateKey("app-a", b"A" * 32, bits=2048, version=PLAIN)
    t = TemplateProtector(keyed, version=SUPER_BIT).protect(v)
    assert (t.bits, t.version) == (2048, PLAIN)


@pytest.mark.parametrize("version", TEMPLATE_VERSIONS)
def test_unlinkable_and_not_invertible_without_the_key(version: int) -> None:
    """The same faces under two keys give chance-level similarity, and the best linear inversion
    (the key's rows weighted by the signs) under a wrong key says nothing about the embedding."""
    rng = np.random.default_rng(13)
    vecs = [_unit(rng) for _ in range(40)]
    pa, pb = TemplateProtector(KEY_A, version=version), TemplateProtector(KEY_B, version=version)
    sims = []
    for v in vecs:
        a, b = pa.protect(v), pb.protect(v)
        sims.append(hamming_similarity(a, FaceTemplate(a.key_id, b.bits, b.data, b.version)))
    assert abs(float(np.mean(sims)) - 0.5) < 0.01 and max(abs(s - 0.5) for s in sims) < 0.07
    assert pa.bits == DEFAULT_BITS  # the default size (2048 bits): docs/biometrics.md, "Calibration"
    wrong = projection_matrix(KEY_B, 128, pa.bits, version)
    right = projection_matrix(KEY_A, 128, pa.bits, version)
    cos_wrong, cos_right = [], []
    for v in vecs:
        signs = np.unpackbits(np.frombuffer(pa.protect(v).data, np.uint8)).astype(np.float32) * 2 - 1
        for matrix, out in ((wrong, cos_wrong), (right, cos_right)):
            guess = matrix.T @ signs
            out.append(float(guess @ v / np.linalg.norm(guess)))
    assert max(abs(c) for c in cos_wrong) < 0.35  # random 128-D directions: |cosine| ~ 0.09
    assert min(cos_right) > 0.6  # with the key an approximate direction leaks (documented)
