"""Face engine timings per stage and exact 1:N search at 10k/100k/1M templates (one core).

    .venv/bin/python benchmarks/bench_faces.py [--data ../shared/data] [--repeat 5]

Prints one JSON document. Search time is reported next to two floors measured in the same run:
reading the template array once (``np.sum``) and copying it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.index import TemplateIndex
from openkyc.biometrics.templates import FaceTemplate, TemplateKey

ROOT = Path(__file__).resolve().parents[1]


def _best_ms(fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 3)


def stages(engine: FaceEngine, data: bytes, repeat: int) -> dict[str, float]:
    key = TemplateKey("bench", b"bench-key-0123456789abcdef")
    image = engine.decode(data)
    face = engine.detector.detect(image)[0]
    sface = engine.embedder
    aligned = sface.align(image, face)  # type: ignore[attr-defined]
    emb = sface.embed_aligned(aligned)  # type: ignore[attr-defined]
    prot = engine.protector(key)
    t1, t2 = prot.protect(emb), prot.protect(emb)
    return {
        "decode_ms": _best_ms(lambda: engine.decode(data), repeat),
        "detect_ms": _best_ms(lambda: engine.detector.detect(image), repeat),
        "align_ms": _best_ms(lambda: sface.align(image, face), repeat),  # type: ignore[attr-defined]
        "embed_ms": _best_ms(lambda: sface.embed_aligned(aligned), repeat),  # type: ignore[attr-defined]
        "template_ms": _best_ms(lambda: prot.protect(emb), repeat),
        "match_ms": _best_ms(lambda: engine.compare_templates(t1, t2), repeat),
        "key_derivation_ms": _best_ms(lambda: engine.protector(key), repeat),
    }


def search(n: int, bits: int, repeat: int) -> dict[str, Any]:
    rng = np.random.default_rng(n)
    rows = rng.integers(0, 2**63, size=(n, bits // 64), dtype=np.uint64)
    index = TemplateIndex("bench", bits, capacity=n)
    index.add_words([str(i) for i in range(n)], rows)
    query = FaceTemplate("bench", bits, rows[n // 2].astype(">u8").tobytes())
    search_ms = _best_ms(lambda: index.search(query, 10), repeat)
    sum_ms = _best_ms(lambda: rows.sum(), repeat)
    copy_ms = _best_ms(lambda: rows.copy(), repeat)
    return {
        "templates": n,
        "bits": bits,
        "memory_mb": round(rows.nbytes / 1e6, 1),
        "search_top10_ms": search_ms,
        "floor_sum_ms": sum_ms,
        "floor_copy_ms": copy_ms,
        "ratio_to_sum": round(search_ms / sum_ms, 2),
        "ratio_to_copy": round(search_ms / copy_ms, 2),
        "target_50ms_at_1m_met": search_ms <= 50 if n >= 1_000_000 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    engine = FaceEngine.default(num_threads=1)
    out: dict[str, Any] = {"threads": 1, "stages": {}}
    for name in ("obama-240p.jpg", "obama-720p.jpg", "obama-1080p.jpg"):
        data = (args.data / "facerec-examples" / "resolution_variants" / name).read_bytes()
        out["stages"][name] = stages(engine, data, args.repeat)
    out["search"] = [search(n, 1024, args.repeat) for n in (10_000, 100_000, 1_000_000)]
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
