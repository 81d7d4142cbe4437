"""Fit the face score calibration on the wider population and measure it on held-out identities.

    .venv/bin/python benchmarks/face_population.py            # once: embeds the population (minutes)
    .venv/bin/python benchmarks/calibrate_faces.py [--keys 50] [--seed 17] [--write] [--baseline OLD_TABLE.json]
        [--resamples 200] [--fit-keys 100] [--key-resamples 100] [--key-quantile 0.95] [--all-formats]
        [--embedders sface,dlib,fusion] [--table TABLE.json] [--formats v2:1024,v2:2048]

Reads the embeddings cached by ``benchmarks/face_population.py`` (no model runs here), merges GRID
clips of one speaker (:func:`merge_clips`), and splits identities by a hash of their label: one in
three is HELD OUT and never enters the fit. Pairs: every two faces of the same half; genuine =
same identity, impostor = different identities (two people of one group photo are left out).

Prints one JSON document: the population, the tables' knots with their confidence bounds, and on
the held-out identities, for each template size and embedder, false matches and false non-matches
at sim 70 and 80 under ``--keys`` random keys (mean, max, per key) with the shipped (per-key) knots and
with the key-averaged knots alone (``key_averaged_knots``), raw-vs-template agreement,
and the old table (``--baseline``, e.g. ``git show <rev>:src/openkyc/biometrics/calibration.json``)
on the same keys. ``--write`` writes src/openkyc/biometrics/calibration.json (before the held-out measurement).
``--fit-keys`` random keys (seed ``FIT_KEYS_SEED``, never the held-out measurement's seed 17) give
the per-key knots (:mod:`openkyc.biometrics.key_quantile`). dlib and fusion are measured at the
default format only unless ``--all-formats``. ``--table`` measures a written table again (no fit),
e.g. under the keys of another ``--seed``; ``--embedders`` restricts the fit and the measurement
(``--write`` then keeps the shipped tables of the others).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from openkyc.biometrics.calibration import (
    EMBEDDERS,
    TABLE_VERSION,
    TEMPLATE_FORMATS,
    Calibration,
    build_table,
    is_held_out,
    size_name,
)
from openkyc.biometrics.evaluation import (
    key_spread,
    operating_point,
    random_keys,
    roc_metrics,
    template_similarities,
)
from openkyc.biometrics.key_quantile import FIT_KEYS, FIT_KEYS_SEED, KEY_QUANTILE
from openkyc.biometrics.templates import DEFAULT_BITS, DEFAULT_VERSION

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "src" / "openkyc" / "biometrics" / "calibration.json"
DEFAULT_CACHE = Path("/tmp/openkyc-face-population.npz")
SPEAKER_COSINE = 0.6  # median SFace cosine between two clips' frames to call them one speaker
SPEAKER_DLIB = 0.95  # ... and dlib's (impostor dlib cosines sit near 0.82)


def load(cache: Path) -> dict[str, Any]:
    with np.load(cache) as data:
        return {k: data[k] for k in data.files}


def merge_clips(pop: dict[str, Any]) -> list[list[str]]:
    """GRID speakers are not named upstream: clips whose frames agree far beyond any impostor pair
    under both embedders (median cosine over their frame pairs) become one identity. Returns the merges."""
    ident = pop["identity"]
    clips = sorted({i for i in ident if i.startswith("grid-talking-face-videos:")})
    parent = {c: c for c in clips}

    def root(c: str) -> str:
        while parent[c] != c:
            c = parent[c]
        return c

    for n, a in enumerate(clips):
        for b in clips[n + 1 :]:
            ma, mb = ident == a, ident == b
            s = float(np.median(pop["sface"][ma] @ pop["sface"][mb].T))
            d = float(np.median(pop["dlib"][ma] @ pop["dlib"][mb].T))
            if s >= SPEAKER_COSINE and d >= SPEAKER_DLIB:
                parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for c in clips:
        groups.setdefault(root(c), []).append(c)
    merged = [g for g in groups.values() if len(g) > 1]
    mapping = {c: "grid-speaker:" + "+".join(sorted(g)) for g in merged for c in g}
    pop["identity"] = np.asarray([mapping.get(i, i) for i in ident])
    return merged


def pairs(pop: dict[str, Any], rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """All pairs among ``rows`` (indices into the population) but two people of one photo."""
    a, b = np.triu_indices(len(rows), 1)
    ia, ib = rows[a], rows[b]
    ident, source = pop["identity"], pop["source"]
    same = ident[ia] == ident[ib]
    keep = same | (source[ia] != source[ib])
    return np.stack([ia[keep], ib[keep]], axis=1), same[keep]


def vectors(pop: dict[str, Any], embedder: str) -> npt.NDArray[np.float32]:
    if embedder == "fusion":  # the FusedEmbedder's vector: equal-weight concatenation, unit length
        v = np.concatenate([pop["sface"], pop["dlib"]], axis=1) * np.float32(np.sqrt(0.5))
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return np.asarray(pop[embedder], dtype=np.float32)


def cosines(vecs: npt.NDArray[np.float32], index: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    return np.einsum("ij,ij->i", vecs[index[:, 0]], vecs[index[:, 1]], dtype=np.float64)


def describe(
    pop: dict[str, Any], rows: npt.NDArray[np.int64], index: npt.NDArray[np.int64], same: Any
) -> dict[str, Any]:
    ident = pop["identity"][rows]
    sets = pop["set"][rows]
    return {
        "faces": len(rows),
        "identities": len(set(ident)),
        "faces_by_set": {str(s): int((sets == s).sum()) for s in np.unique(sets)},
        "identities_by_set": {str(s): len(set(ident[sets == s])) for s in np.unique(sets)},
        "genuine_pairs": int(same.sum()),
        "impostor_pairs": int((~same).sum()),
        "impostor_identity_pairs": len({tuple(sorted(p)) for p in pop["identity"][index[~same]]}),
    }


def agreement(
    vecs: npt.NDArray[np.float32],
    index: Any,
    same: Any,
    cal: Calibration,
    keys: list[Any],
    bits: int,
    version: int,
) -> dict[str, Any]:
    """How closely templates follow raw cosines: RMS error of the Hamming similarity against
    1 - arccos(cos)/pi, and the share of pairs whose decision at sim 70 is the raw cosine's."""
    cos = cosines(vecs, index)
    expected = 1.0 - np.arccos(np.clip(cos, -1, 1)) / np.pi
    raw_match = cal.sims(cos, "cosine") >= 70
    rms, agree = [], []
    for key in keys:
        ham = template_similarities(vecs, index, key, bits, version)
        rms.append(float(np.sqrt(np.mean((ham - expected) ** 2))))
        agree.append(float(np.mean((cal.sims(ham, "template", bits, version) >= 70) == raw_match)))
    return {"rms_error": round(float(np.mean(rms)), 5), "decision_agreement_at_70": round(float(np.mean(agree)), 6)}


def fit_tables(
    pop: dict[str, Any],
    args: argparse.Namespace,
    report: dict[str, Any],
    fit_rows: npt.NDArray[np.int64],
    imp: npt.NDArray[np.int64],
    chosen: list[str],
    started: float,
) -> dict[str, dict[str, Any]]:
    """The tables of the ``chosen`` embedders, fitted on the impostor pairs ``imp`` of the fit half."""
    ident = pop["identity"]
    fit_names = sorted(set(ident[fit_rows]))
    position = {n: i for i, n in enumerate(fit_names)}
    id_a = np.asarray([position[i] for i in ident[imp[:, 0]]])
    id_b = np.asarray([position[i] for i in ident[imp[:, 1]]])
    tables: dict[str, dict[str, Any]] = {}
    fit_keys = random_keys(args.fit_keys, seed=FIT_KEYS_SEED)
    for name in chosen:
        vecs = vectors(pop, name)
        key_counts = (
            {
                size_name(bits, version): np.stack(
                    [
                        np.rint(template_similarities(vecs, imp, k, bits, version) * bits).astype(np.int16)
                        for k in fit_keys
                    ]
                )
                for version, bits in TEMPLATE_FORMATS
            }
            if args.fit_keys
            else None
        )
        table = build_table(
            cosines(vecs, imp),
            id_a,
            id_b,
            len(fit_names),
            embedder=name,
            default_bits=args.bits,
            default_version=args.version,
            resamples=args.resamples,
            dim=vecs.shape[1],
            key_counts=key_counts,
            key_resamples=args.key_resamples,
            per_key_quantile=args.key_quantile,
        )
        table["data"] = {
            "faces": report["fit"]["faces"],
            "identities": report["fit"]["identities"],
            "genuine_pairs": report["fit"]["genuine_pairs"],
            "impostor_pairs": report["fit"]["impostor_pairs"],
            "held_out_identities": report["held_out"]["identities"],
            "command": "benchmarks/face_population.py && benchmarks/calibrate_faces.py --write",
            "fit_keys": args.fit_keys,
            "key_quantile": args.key_quantile,
        }
        tables[name] = table
        _progress(started, f"fitted {name}")
    return tables


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument(
        "--seed", type=int, default=17, help="seed of the held-out measurement's keys (17; another: keys never seen)"
    )
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--fit-keys", type=int, default=FIT_KEYS, help="random keys for per-key knots (0: none)")
    parser.add_argument("--key-resamples", type=int, default=100, help="identity resamples of the per-key knots")
    parser.add_argument(
        "--key-quantile",
        type=float,
        default=KEY_QUANTILE,
        help="per-key knots: where this quantile of keys reaches each rate",
    )
    parser.add_argument(
        "--all-formats", action="store_true", help="measure dlib and fusion at every template format (sface always)"
    )
    parser.add_argument("--bits", type=int, default=DEFAULT_BITS, help="template size of new keys")
    parser.add_argument("--version", type=int, default=DEFAULT_VERSION, help="template version of new keys")
    parser.add_argument("--baseline", type=Path, help="an older calibration.json to measure on the same keys")
    parser.add_argument(
        "--embedders",
        default=",".join(EMBEDDERS),
        help="comma-separated embedders to fit and measure; --write keeps the shipped tables of the others",
    )
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--table", type=Path, help="measure this calibration.json's tables instead of fitting")
    parser.add_argument(
        "--formats", help="measure only these template formats on the held-out people (e.g. v2:1024,v2:2048)"
    )
    args = parser.parse_args()
    formats = set(args.formats.split(",")) if args.formats else None
    started = time.perf_counter()
    pop = load(args.cache)
    merges = merge_clips(pop)
    ident = pop["identity"]
    names = sorted(set(ident))
    held = np.asarray([is_held_out(i) for i in ident])
    fit_rows, test_rows = np.flatnonzero(~held), np.flatnonzero(held)
    fit_index, fit_same = pairs(pop, fit_rows)
    test_index, test_same = pairs(pop, test_rows)
    report: dict[str, Any] = {
        "population": {"faces": len(ident), "identities": len(names), "merged_clips": merges},
        "fit": describe(pop, fit_rows, fit_index, fit_same),
        "held_out": describe(pop, test_rows, test_index, test_same),
        "held_out_identities": sorted({str(i) for i in ident[held]}),
    }
    chosen = [name for name in EMBEDDERS if name in args.embedders.split(",")]
    if args.table is not None:  # measure a written table again (e.g. under keys of another seed)
        tables = {n: t for n, t in json.loads(args.table.read_text())["embedders"].items() if n in chosen}
    else:
        tables = fit_tables(pop, args, report, fit_rows, fit_index[~fit_same], chosen, started)
    shipped = json.loads(TABLE.read_text(encoding="utf-8"))["embedders"]
    document = {
        "version": TABLE_VERSION,
        "default_embedder": "sface",
        "embedders": {name: tables.get(name, shipped.get(name)) for name in EMBEDDERS},
    }
    if args.write:  # written before the held-out measurement, which never changes it
        TABLE.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    report["knots"] = {
        name: {
            "cosine": t["cosine"][1:-1],
            **{f"template_{b}": t["templates"][b][1:-1] for b in t["templates"]},
            "confidence": t["confidence"],
            "tail_fit": t["impostor_fit"],
        }
        for name, t in tables.items()
    }
    keys = random_keys(args.keys, seed=args.seed)
    held_report: dict[str, Any] = {}
    for name in chosen:
        cal = Calibration(tables[name])
        vecs = vectors(pop, name)
        cos = cosines(vecs, test_index)
        entry: dict[str, Any] = {
            "raw_cosine": roc_metrics(cos, test_same),
            "raw_cosine_at": {f"{s:g}": operating_point(cal.sims(cos, "cosine"), test_same, s) for s in (70.0, 80.0)},
        }
        key_averaged = tables[name]["confidence"]["key_averaged"]
        default_format = size_name(tables[name]["bits"], tables[name]["template_version"])
        averaged = Calibration({**tables[name], "templates": key_averaged, "template": key_averaged[default_format]})
        measured = TEMPLATE_FORMATS if name == "sface" or args.all_formats else [(cal.version, cal.bits)]
        measured = [f for f in measured if formats is None or size_name(f[1], f[0]) in formats]
        for version, bits in measured:
            spread = key_spread(vecs, test_index, test_same, cal, keys, bits=bits, version=version)
            spread["key_averaged_knots"] = key_spread(
                vecs, test_index, test_same, averaged, keys, bits=bits, version=version
            )
            if name == "sface":
                spread["agreement"] = agreement(vecs, test_index, test_same, cal, keys[:10], bits, version)
            entry[f"template_{size_name(bits, version)}"] = spread
            _progress(started, f"measured {name} {size_name(bits, version)}")
        held_report[name] = entry
    if args.baseline is not None:
        old = json.loads(args.baseline.read_text())["embedders"]
        for name in ("sface",):
            old_cal = _as_v3(Calibration(old[name]))
            held_report[name]["baseline"] = {
                f"template_{size_name(bits, version)}": key_spread(
                    vectors(pop, name), test_index, test_same, old_cal, keys, bits=bits, version=version
                )
                for version, bits in old_cal.formats
                if formats is None or size_name(bits, version) in formats
            }
    report["held_out_results"] = held_report
    report["seconds"] = round(time.perf_counter() - started, 1)
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")


def _progress(started: float, what: str) -> None:
    sys.stderr.write(f"{time.perf_counter() - started:7.1f}s {what}\n")
    sys.stderr.flush()


def _as_v3(cal: Calibration) -> Calibration:
    """An older table (one template size) seen through the per-size accessor."""
    table = dict(cal.table)
    table.setdefault("templates", {str(cal.bits): table["template"]})
    return Calibration(table)


if __name__ == "__main__":
    main()
