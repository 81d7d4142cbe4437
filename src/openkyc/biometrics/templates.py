"""Protected binary face templates (DESIGN.md section 4).

embedding (unit, d floats) --secret per-app Gaussian projection (bits x d)--> signs --> packed bits.

The projection matrix is derived deterministically from the app's secret key bytes (the lead's
key store keeps them encrypted) with SHA-256 seeding a PCG64 generator, so it is never stored.
For random hyperplanes the probability that a bit differs is ``angle / pi`` between the two
embeddings (Charikar 2002), so the Hamming similarity ``1 - hamming / bits`` estimates
``1 - arccos(cosine) / pi``. Templates made under different keys (apps) are unrelated bit strings:
comparing them gives impostor-level scores (unlinkability); re-enrolling under a new key id issues
fresh templates (renewability).

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

TEMPLATE_VERSION = 1
DEFAULT_BITS = 1024  # chosen by measurement: docs/biometrics.md, "Calibration"
MAGIC = b"OKFT"


@dataclass(frozen=True, slots=True)
class TemplateKey:
    """An app's projection secret. ``secret`` never appears in repr.

    ``bits`` is the template size the key was made for (the key store keeps it with the key, so
    templates of a key made before a size change keep their size); ``None``: the engine's default.
    """

    key_id: str
    secret: bytes = field(repr=False)
    bits: int | None = None

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("a template key needs at least 16 secret bytes")
        if not 0 < len(self.key_id.encode()) < 256:
            raise ValueError("key_id must be 1-255 bytes")
        if self.bits is not None and (self.bits <= 0 or self.bits % 64 or self.bits >= 1 << 16):
            raise ValueError("bits must be a positive multiple of 64 below 65536")


@dataclass(frozen=True, slots=True)
class FaceTemplate:
    """A protected template: face features, personal data; repr shows no bits."""

    key_id: str
    bits: int
    data: bytes = field(repr=False)
    version: int = TEMPLATE_VERSION

    def to_bytes(self) -> bytes:
        kid = self.key_id.encode()
        return MAGIC + struct.pack(">BHB", self.version, self.bits, len(kid)) + kid + self.data

    @classmethod
    def from_bytes(cls, blob: bytes) -> FaceTemplate:
        if len(blob) < 8 or blob[:4] != MAGIC:
            raise TemplateMalformed()
        version, bits, klen = struct.unpack(">BHB", blob[4:8])
        kid, data = blob[8 : 8 + klen], blob[8 + klen :]
        if version != TEMPLATE_VERSION or bits % 64 or len(data) != bits // 8 or len(kid) != klen:
            raise TemplateMalformed()
        return cls(key_id=kid.decode("utf-8", "replace"), bits=bits, data=data, version=version)

    def words(self) -> npt.NDArray[np.uint64]:
        return np.frombuffer(self.data, dtype=">u8").astype(np.uint64)


def projection_matrix(key: TemplateKey, dim: int, bits: int) -> npt.NDArray[np.float32]:
    """The secret ``(bits, dim)`` Gaussian matrix for ``key`` (deterministic)."""
    label = f"openkyc-face-template-v{TEMPLATE_VERSION}|{dim}|{bits}|".encode()
    seed = hashlib.sha256(label + key.secret).digest()
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed, "big")))
    return rng.standard_normal((bits, dim), dtype=np.float32)


class TemplateProtector:
    """Makes and compares templates for one key. Keeps the derived matrix, nothing else."""

    def __init__(self, key: TemplateKey, *, dim: int = 128, bits: int = DEFAULT_BITS) -> None:
        if bits <= 0 or bits % 64 or bits >= 1 << 16:
            raise ValueError("bits must be a positive multiple of 64 below 65536")
        self.key_id = key.key_id
        self.bits = bits
        self.dim = dim
        self._matrix = projection_matrix(key, dim, bits)

    def __repr__(self) -> str:
        return f"TemplateProtector(key_id={self.key_id!r}, bits={self.bits})"

    def protect(self, embedding: Embedding) -> FaceTemplate:
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.dim:
            raise TemplateMismatch(f"Expected a {self.dim}-D embedding.")
        signs = (self._matrix @ vector) > 0
        return FaceTemplate(self.key_id, self.bits, np.packbits(signs).tobytes())

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
