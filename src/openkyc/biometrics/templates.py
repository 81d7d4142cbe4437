"""Protected binary face templates (DESIGN.md section 4).

embedding (unit, d floats) --secret per-app projection (bits x d)--> signs --> packed bits.

The projection matrix is derived deterministically from the app's secret key bytes (the lead's
key store keeps them encrypted) with SHA-256 seeding a PCG64 generator, so it is never stored.
For random hyperplanes the probability that a bit differs is ``angle / pi`` between the two
embeddings (Charikar 2002), so the Hamming similarity ``1 - hamming / bits`` estimates
``1 - arccos(cosine) / pi``. Templates made under different keys (apps) are unrelated bit strings:
comparing them gives impostor-level scores (unlinkability); re-enrolling under a new key id issues
fresh templates (renewability).

Two template versions (projection schemes), told apart by the version byte and by the key
(``TemplateKey.version``, kept with the key in the key store):

* ``1`` (:data:`PLAIN`): independent Gaussian hyperplanes; the bits of a pair are independent.
* ``2`` (:data:`SUPER_BIT`): super-bit LSH (Ji et al., NIPS 2012): the hyperplanes come in blocks of
  ``min(d, bits)`` orthonormal rows (QR of a Gaussian matrix, signs fixed so the block is Haar
  distributed). Each bit still differs with probability ``angle / pi``, but the bits of one block
  are dependent and the count of agreeing bits varies less from key to key (and pair to pair).

Serialised form: ``b"OKFT" | version u8 | bits u16 BE | key_id length u8 | key_id utf-8 | bits``.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from openkyc.biometrics.types import Embedding
from openkyc.errors import TemplateMalformed, TemplateMismatch

PLAIN = 1
SUPER_BIT = 2
TEMPLATE_VERSIONS: tuple[int, ...] = (PLAIN, SUPER_BIT)
DEFAULT_VERSION = SUPER_BIT  # chosen by measurement: docs/biometrics.md, "Calibration"
DEFAULT_BITS = 2048  # chosen by measurement: docs/biometrics.md, "On keys no choice saw"
MAGIC = b"OKFT"


@dataclass(frozen=True, slots=True)
class TemplateKey:
    """An app's projection secret. ``secret`` never appears in repr.

    ``bits`` and ``version`` are the template size and version the key was made for (the key store
    keeps them with the key, so templates of a key made before a default changed keep their size
    and projection); ``None``: the engine's default.
    """

    key_id: str
    secret: bytes = field(repr=False)
    bits: int | None = None
    version: int | None = None

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("a template key needs at least 16 secret bytes")
        if not 0 < len(self.key_id.encode()) < 256:
            raise ValueError("key_id must be 1-255 bytes")
        if self.bits is not None and (self.bits <= 0 or self.bits % 64 or self.bits >= 1 << 16):
            raise ValueError("bits must be a positive multiple of 64 below 65536")
        if self.version is not None and self.version not in TEMPLATE_VERSIONS:
            raise ValueError(f"template version must be one of {TEMPLATE_VERSIONS}")


@dataclass(frozen=True, slots=True)
class FaceTemplate:
    """A protected template: face features, personal data; repr shows no bits."""

    key_id: str
    bits: int
    data: bytes = field(repr=False)
    version: int = PLAIN

    def to_bytes(self) -> bytes:
        kid = self.key_id.encode()
        return MAGIC + struct.pack(">BHB", self.version, self.bits, len(kid)) + kid + self.data

    @classmethod
    def from_bytes(cls, blob: bytes) -> FaceTemplate:
        if len(blob) < 8 or blob[:4] != MAGIC:
            raise TemplateMalformed()
        version, bits, klen = struct.unpack(">BHB", blob[4:8])
        kid, data = blob[8 : 8 + klen], blob[8 + klen :]
        if version not in TEMPLATE_VERSIONS or bits % 64 or len(data) != bits // 8 or len(kid) != klen:
            raise TemplateMalformed()
        return cls(key_id=kid.decode("utf-8", "replace"), bits=bits, data=data, version=version)

    def words(self) -> npt.NDArray[np.uint64]:
        return np.frombuffer(self.data, dtype=">u8").astype(np.uint64)


def projection_matrix(key: TemplateKey, dim: int, bits: int, version: int = PLAIN) -> npt.NDArray[np.float32]:
    """The secret ``(bits, dim)`` projection of ``key`` for template ``version`` (deterministic)."""
    if version not in TEMPLATE_VERSIONS:
        raise ValueError(f"template version must be one of {TEMPLATE_VERSIONS}")
    # version 1's label keeps its original text: existing keys keep their matrices
    label = f"openkyc-face-template-v{version}|{dim}|{bits}|".encode()
    seed = hashlib.sha256(label + key.secret).digest()
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed, "big")))
    if version == PLAIN:
        return rng.standard_normal((bits, dim), dtype=np.float32)
    return super_bit_rows(rng, dim, bits).astype(np.float32)


def super_bit_rows(rng: np.random.Generator, dim: int, bits: int) -> npt.NDArray[np.float64]:
    """``bits`` hyperplanes in blocks of ``min(dim, remaining)`` orthonormal rows.

    Each block is the Q factor of a Gaussian ``(dim, n)`` matrix with its columns' signs fixed by
    the diagonal of R (so Q is unique, the same under any LAPACK, and Haar distributed).
    """
    blocks = []
    remaining = bits
    while remaining > 0:
        n = min(dim, remaining)
        q, r = np.linalg.qr(rng.standard_normal((dim, n)))
        signs = np.where(np.diag(r) < 0, -1.0, 1.0)
        blocks.append((q * signs).T)
        remaining -= n
    return np.vstack(blocks)


class TemplateProtector:
    """Makes and compares templates for one key. Keeps the derived matrix, nothing else.

    The size and version are the key's own where it has them (``key.bits``, ``key.version``),
    otherwise ``bits`` and ``version``.
    """

    def __init__(
        self, key: TemplateKey, *, dim: int = 128, bits: int = DEFAULT_BITS, version: int = DEFAULT_VERSION
    ) -> None:
        bits = key.bits or bits
        version = key.version or version
        if bits <= 0 or bits % 64 or bits >= 1 << 16:
            raise ValueError("bits must be a positive multiple of 64 below 65536")
        self.key_id = key.key_id
        self.bits = bits
        self.version = version
        self.dim = dim
        self._matrix = projection_matrix(key, dim, bits, version)

    def __repr__(self) -> str:
        return f"TemplateProtector(key_id={self.key_id!r}, bits={self.bits}, version={self.version})"

    def protect(self, embedding: Embedding) -> FaceTemplate:
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.dim:
            raise TemplateMismatch(f"Expected a {self.dim}-D embedding.")
        signs = (self._matrix @ vector) > 0
        return FaceTemplate(self.key_id, self.bits, np.packbits(signs).tobytes(), self.version)

    def similarity(self, a: FaceTemplate, b: FaceTemplate) -> float:
        """Hamming similarity ``1 - distance / bits`` in [0, 1]; 0.5 is chance."""
        return hamming_similarity(a, b)


def hamming_similarity(a: FaceTemplate, b: FaceTemplate) -> float:
    if (a.key_id, a.bits, a.version) != (b.key_id, b.bits, b.version):
        raise TemplateMismatch()
    distance = int(np.bitwise_count(np.bitwise_xor(a.words(), b.words())).sum())
    return 1.0 - distance / a.bits


def cosine_from_hamming(similarity: float) -> float:
    """Estimate the embeddings' cosine from a Hamming similarity (inverse of the angle relation)."""
    return float(np.cos(np.pi * (1.0 - similarity)))
