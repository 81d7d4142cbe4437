"""How many bits of two templates agree under a random key, for each template version.

For a pair of unit embeddings at angle ``theta`` (cosine ``c``), the number of the ``bits`` bits
of their templates that agree is a random variable over keys. Its survival function, evaluated on
the calibration's cosine grid, is what :mod:`openkyc.biometrics.calibration` mixes over the
impostor population to turn cosine false-match rates into template thresholds.

* Version 1 (independent Gaussian hyperplanes): exactly Binomial(bits, 1 - theta/pi) (Charikar
  2002), computed exactly (:func:`binomial_survival`).
* Version 2 (super-bit: blocks of orthonormal hyperplanes): each bit still agrees with probability
  ``1 - theta/pi``, but the bits of one block are dependent (for ``theta < pi/2`` negatively
  correlated), so the binomial is wrong. Blocks are independent, so the count is the sum of
  independent block counts; one block's distribution is computed by Monte Carlo
  (:func:`super_bit_block_pmf`): only the block rows' components in the pair's plane matter, and for
  a full block (``n = dim`` rows, a Haar-random rotation) those are two orthonormal random vectors
  of ``R^n`` (Gram-Schmidt of two Gaussian vectors); a pair's bit differs iff the angle of its row's
  in-plane component, shifted by ``pi/2`` and taken mod ``pi``, is below ``theta``. Every grid angle is
  counted from the same simulated blocks. The block pmfs are then convolved (FFT) ``bits / n``
  times. Beyond the simulated range a block count has probability 0 (about ``1 / samples``):
  the mixture over the impostor cosines is dominated by the bulk of each pair's distribution.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from openkyc.biometrics.templates import PLAIN, SUPER_BIT

FloatArray = npt.NDArray[np.float64]
BIN = 0.001  # cosine grid step (the calibration's histogram bins)
GRID: FloatArray = np.linspace(-1.0, 1.0, round(2 / BIN) + 1)
SUPER_BIT_SAMPLES = 400_000  # simulated blocks per (block size, dim): pmf resolution 2.5e-6
_BATCH = 2_000


@functools.lru_cache(maxsize=8)
def binomial_survival(bits: int) -> FloatArray:
    """``(len(GRID), bits + 1)``: P(at least k of ``bits`` agree) for a pair with each grid cosine."""
    p = np.clip(1.0 - np.arccos(GRID) / np.pi, 1e-15, 1 - 1e-15)
    k = np.arange(bits + 1, dtype=np.float64)
    lgam = np.array([math.lgamma(i + 1) for i in range(bits + 1)])
    log_comb = lgam[bits] - lgam - lgam[::-1]
    log_pmf = log_comb[None, :] + k[None, :] * np.log(p)[:, None] + (bits - k)[None, :] * np.log1p(-p)[:, None]
    return _survival(np.exp(log_pmf))


def _in_plane(rng: np.random.Generator, n: int, dim: int, count: int) -> tuple[FloatArray, FloatArray]:
    """Components ``(a, b)``, each ``(count, n)``, of ``count`` random blocks of ``n`` orthonormal rows
    in ``R^dim`` along two fixed orthonormal directions of the embedding space."""
    if n == dim:  # a Haar rotation: its first two columns are two random orthonormal vectors of R^n
        g = rng.standard_normal((count, 2, n))
        a = g[:, 0] / np.linalg.norm(g[:, 0], axis=1, keepdims=True)
        b = g[:, 1] - np.sum(g[:, 1] * a, axis=1, keepdims=True) * a
        return a, b / np.linalg.norm(b, axis=1, keepdims=True)
    q, _ = np.linalg.qr(rng.standard_normal((count, dim, n)))  # columns: the block's rows
    return q[:, 0, :], q[:, 1, :]


@functools.lru_cache(maxsize=8)
def super_bit_block_pmf(n: int, dim: int, samples: int = SUPER_BIT_SAMPLES, seed: int = 0) -> FloatArray:
    """``(len(GRID), n + 1)``: P(exactly k of a block's ``n`` orthonormal bits agree) per grid cosine."""
    if not 0 < n <= dim:
        raise ValueError("a super-bit block has 1 to dim rows")
    rng = np.random.default_rng(seed)
    angles = np.sort(np.arccos(GRID))  # ascending theta
    width = len(angles)
    # difference array over (grid angle, differing bits): a block whose sorted in-plane angles
    # fall at grid indices first_0 <= ... <= first_{n-1} has d differing bits on [first_{d-1}, first_d)
    diff = np.zeros((width + 1) * (n + 1), dtype=np.float64)
    d = np.arange(n + 1)
    done = 0
    while done < samples:
        count = min(_BATCH * 10, samples - done)
        a, b = _in_plane(rng, n, dim, count)
        omega = np.sort(np.mod(np.arctan2(b, a) - np.pi / 2, np.pi), axis=1)
        first = np.searchsorted(angles, omega, side="right")  # grid index from which each row differs
        zeros, ends = np.zeros((count, 1), np.int64), np.full((count, 1), width)
        start, stop = np.hstack([zeros, first]), np.hstack([first, ends])
        diff += np.bincount((start * (n + 1) + d).ravel(), minlength=len(diff))
        diff -= np.bincount((stop * (n + 1) + d).ravel(), minlength=len(diff))
        done += count
    differ = np.cumsum(diff.reshape(width + 1, n + 1), axis=0)[:width]  # (angle, differing bits)
    counts = differ[:, ::-1]  # agreeing bits = n - differing
    pmf = counts / samples
    return pmf[::-1].copy()  # back to GRID order (ascending cosine = descending theta)


def _convolve_power(pmf: FloatArray, times: int) -> FloatArray:
    """Row-wise pmf of the sum of ``times`` independent copies (FFT; negatives from rounding cut)."""
    length = (pmf.shape[1] - 1) * times + 1
    size = 1 << (length - 1).bit_length()
    spectrum = np.fft.rfft(pmf, size, axis=1) ** times
    out = np.fft.irfft(spectrum, size, axis=1)[:, :length]
    return np.clip(out, 0.0, None)


@functools.lru_cache(maxsize=8)
def super_bit_survival(bits: int, dim: int, samples: int = SUPER_BIT_SAMPLES) -> FloatArray:
    """As :func:`binomial_survival`, for super-bit templates of ``bits`` bits over ``dim``-D embeddings."""
    full, rest = divmod(bits, dim)
    pmf = _convolve_power(super_bit_block_pmf(dim, dim, samples), full) if full else np.ones((len(GRID), 1))
    if rest:
        partial = super_bit_block_pmf(rest, dim, samples)
        pmf = np.stack([np.convolve(p, q) for p, q in zip(pmf, partial, strict=True)])
    return _survival(pmf)


def survival(bits: int, version: int = PLAIN, dim: int = 128, samples: int = SUPER_BIT_SAMPLES) -> FloatArray:
    """P(at least k of ``bits`` agree) per grid cosine for templates of ``version`` (``samples``:
    simulated blocks for version 2)."""
    if version == PLAIN:
        return binomial_survival(bits)
    if version == SUPER_BIT:
        return super_bit_survival(bits, dim, samples)
    raise ValueError(f"unknown template version {version}")


def _survival(pmf: FloatArray) -> FloatArray:
    out: FloatArray = np.minimum(np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1], 1.0)
    out.setflags(write=False)  # cached: shared by every caller
    return out
