"""OpenBLAS follows the model thread count (issue 13: a template key's first projection matrix,
eight small QR factorisations, took 0.1-1.3 s each on a busy machine with one BLAS thread per core)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from openkyc import blas


@pytest.fixture
def restore_blas() -> Iterator[None]:
    before = blas.blas_threads()
    yield
    if before:
        blas.limit_threads(before[0])


@pytest.mark.usefixtures("restore_blas")
def test_limit_threads_sets_every_loaded_openblas() -> None:
    assert blas.blas_threads(), "numpy's OpenBLAS is loaded and answers"
    assert blas.limit_threads(2) >= 1
    assert set(blas.blas_threads()) == {2}
    assert blas.limit_threads(1) == len(blas.blas_threads())
    assert set(blas.blas_threads()) == {1}
    a = np.random.default_rng(0).standard_normal((128, 128))
    q, r = np.linalg.qr(a)  # still right on one thread
    assert np.allclose(q @ r, a) and np.allclose(q.T @ q, np.eye(128), atol=1e-10)


@pytest.mark.usefixtures("restore_blas")
def test_a_face_detector_applies_its_thread_count_to_blas() -> None:
    from openkyc.biometrics.detection import default_detector

    blas.limit_threads(2)
    default_detector(num_threads=1)
    assert set(blas.blas_threads()) == {1}
