"""Accuracy of the document reader, side by side with PassportEye, on documents it was not tuned on.

    .venv/bin/python benchmarks/eval_documents.py --n 20                  # held-out set, every condition
    .venv/bin/python benchmarks/eval_documents.py --set tuning --n 100    # tests/documents/render.py
    .venv/bin/python benchmarks/eval_documents.py --set tuning --wrong-check-digit --n 60

Sets:
- ``heldout`` (default): ``benchmarks/heldout_documents.py`` with seeds from its ``HELDOUT_SEEDS``
  (never used for tuning), under each condition (``mild``, ``perspective``, ``glare``, ``lowlight``,
  ``res720``) at two strengths, plus a row of documents printed with one wrong check digit; then the
  ICAO specimens of ``../shared/data/mrz-specimens``.
- ``tuning``: the test renderer ``tests/documents/render.py`` (what the reader was tuned on).

For each row and each reader (``openkyc`` and, when installed, ``passporteye`` with Debian's
``tesseract-ocr``): ``found`` (an MRZ came back), ``exact`` (every MRZ field equal to the truth),
``valid`` (the reader called it valid), ``exact_valid`` (both) and ``false_valid`` (called valid
while a field is wrong that the answer does not list as unconfirmed; must be 0), and apart from it
``unconfirmed_wrong`` (called valid, wrong only in fields the answer lists in ``unconfirmed_fields``:
the MRV optional data, a MyKad or NIK number, which nothing can vouch for). Printed as one JSON document.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "documents"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import heldout_cards  # noqa: E402
import heldout_documents as heldout  # noqa: E402
import render  # noqa: E402

from openkyc.documents.mrz import parse_mrz  # noqa: E402
from openkyc.documents.reader import DocumentReader  # noqa: E402

TODAY = date(2026, 6, 1)
KEYS = (
    "document_number",
    "issuing_state",
    "nationality",
    "birth_date",
    "expiry_date",
    "sex",
    "surname",
    "given_names",
    "optional_data",
)


def truth_fields(lines: list[str]) -> dict[str, str]:
    """The comparable fields of true MRZ lines (parsed as text: nothing to correct)."""
    return comparable(parse_mrz(lines, today=TODAY).fields)


def comparable(fields: dict[str, Any]) -> dict[str, str]:
    out = {k: str(fields.get(k, "") or "").replace("<", " ").strip() for k in KEYS}
    for key in ("birth_date", "expiry_date"):
        value = out[key]
        out[key] = value[2:].replace("-", "") if len(value) == 10 else value
    out["sex"] = out["sex"] if out["sex"] in ("M", "F") else ""
    for key in ("surname", "given_names", "optional_data"):
        out[key] = " ".join(out[key].split())
    return out


Reading = tuple[dict[str, str] | None, bool, list[str], tuple[str, ...]]
"""Fields compared (None: no MRZ), called valid, lines read and reasons, fields the answer calls unconfirmed."""

OPENKYC: dict[str, DocumentReader] = {}
"""The reader made by :func:`openkyc_reader` (ID cards are read with it directly)."""


def openkyc_reader(threads: int) -> Callable[[np.ndarray, bytes], Reading]:
    reader = OPENKYC["reader"] = DocumentReader.default(num_threads=threads, portrait=False)

    def read(image: np.ndarray, jpeg: bytes) -> Reading:
        result = reader.read(image, today=TODAY)
        if result.mrz is None:
            return None, False, [], ()
        why = [f"{field}:{reason}" for field, reason in result.mrz.invalid]
        lines = [*result.mrz.lines, *why]
        return comparable(result.mrz.fields), result.mrz.valid, lines, result.mrz.unconfirmed_fields

    return read


def passporteye_reader() -> Callable[[np.ndarray, bytes], Reading] | None:
    try:
        from passporteye import read_mrz
    except ImportError:
        return None
    import shutil

    if shutil.which("tesseract") is None:
        return None

    def read(image: np.ndarray, jpeg: bytes) -> Reading:
        try:
            mrz = read_mrz(io.BytesIO(jpeg))
        except Exception:  # PassportEye raises on images it cannot handle: count as not found
            return None, False, [], (), ()
        if mrz is None or mrz.mrz_type is None:
            return None, False, [], ()
        d = mrz.to_dict()
        optional = d.get("personal_number") or d.get("optional1") or ""
        fields = {
            "document_number": d.get("number", ""),
            "issuing_state": d.get("country", ""),
            "nationality": d.get("nationality", ""),
            "birth_date": d.get("date_of_birth", ""),
            "expiry_date": d.get("expiration_date", ""),
            "sex": d.get("sex", ""),
            "surname": d.get("surname", ""),
            "given_names": d.get("names", ""),
            "optional_data": optional,
        }
        return comparable(fields), bool(mrz.valid), [], ()

    return read


class Tally:
    def __init__(self) -> None:
        self.n = self.found = self.exact = self.valid = self.exact_valid = self.false_valid = self.lines_exact = 0
        self.unconfirmed_wrong = 0
        self.seconds = 0.0
        self.misses: list[dict[str, Any]] = []

    def add(self, truth: dict[str, str], lines: list[str], got: Reading, s: float) -> None:
        fields, valid, read_lines, unconfirmed = got
        exact = fields is not None and fields == truth
        excused = valid and not exact and unconfirmed_wrong(truth, fields, unconfirmed)
        self.n += 1
        self.seconds += s
        self.found += fields is not None
        self.exact += exact
        self.lines_exact += read_lines[: len(lines)] == lines
        self.valid += valid
        self.exact_valid += exact and valid
        self.false_valid += valid and not exact and not excused
        self.unconfirmed_wrong += excused
        if not (exact and valid) and len(self.misses) < 8:
            wrong = [] if fields is None else [k for k in KEYS if fields.get(k) != truth.get(k)]
            miss = {"found": fields is not None, "valid": valid, "wrong_fields": wrong}
            if len(read_lines) > len(lines):
                miss["invalid"] = read_lines[len(lines) :]
            self.misses.append(miss)

    def report(self, lines: bool) -> dict[str, Any]:
        n = max(self.n, 1)
        out: dict[str, Any] = {
            "found": round(self.found / n, 3),
            "exact": round(self.exact / n, 3),
            "valid": round(self.valid / n, 3),
            "exact_valid": round(self.exact_valid / n, 3),
            "false_valid": self.false_valid,
            "unconfirmed_wrong": self.unconfirmed_wrong,
            "seconds_per_document": round(self.seconds / n, 3),
        }
        if lines:
            out["lines_exact"] = round(self.lines_exact / n, 3)
        out["misses"] = self.misses
        return out


def wrong_check_digit(doc: Any, rng: np.random.Generator) -> tuple[list[str], Any]:
    """The same document printed with its document-number, birth or expiry check digit off by one."""
    lines = list(doc.lines)
    spots = [(0, 14), (1, 6), (1, 14)] if doc.mrz_format == "TD1" else [(1, 9), (1, 19), (1, 27)]
    row, pos = spots[int(rng.integers(len(spots)))]
    lines[row] = lines[row][:pos] + str((int(lines[row][pos]) + 1) % 10) + lines[row][pos + 1 :]
    return lines, rng


Row = tuple[str, str, Callable[[int], tuple[Any, list[str] | None]]]


def heldout_rows(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for condition in heldout.CONDITIONS:
        for strength in heldout.STRENGTHS:
            if condition == "mild" and strength == "strong":
                continue

            def make(i: int, c: str = condition, s: str = strength) -> tuple[Any, list[str] | None]:
                doc = heldout.make_document(args.seed_start + i, c, s, today=TODAY)
                return doc, doc.lines

            rows.append((condition, strength, make))

    def misprinted(i: int) -> tuple[Any, list[str] | None]:
        seed = args.seed_start + 50_000 + i
        rng = np.random.default_rng(seed)
        kind = str(rng.choice(["TD3", "TD1", "TD2"]))
        person = heldout.identity(rng, TODAY)
        lines = heldout.mrz_lines(kind, person)
        spots = [(0, 14), (1, 6), (1, 14)] if kind == "TD1" else [(1, 9), (1, 19), (1, 27)]
        row, pos = spots[int(rng.integers(len(spots)))]
        lines[row] = lines[row][:pos] + str((int(lines[row][pos]) + 1) % 10) + lines[row][pos + 1 :]
        image, jpeg = heldout.photograph(heldout.draw_page(kind, lines, person, rng), "mild", "mild", rng)
        return heldout.HeldoutDocument(image, jpeg, kind, lines, person), lines

    rows.append(("wrong_check_digit", "mild", misprinted))

    def visa(i: int, strength: str) -> tuple[Any, list[str] | None]:
        condition = "mild" if strength == "mild" else STRONG[i % len(STRONG)]
        doc = heldout.make_visa(args.seed_start + i, condition, strength, today=TODAY)
        return doc, doc.lines

    def card(i: int, strength: str) -> tuple[Any, list[str] | None]:
        condition = "mild" if strength == "mild" else STRONG[i % len(STRONG)]
        return heldout_cards.make_card(args.seed_start + i, condition, strength, today=TODAY), None

    for strength in heldout.STRENGTHS:
        rows.append(("visa", strength, lambda i, s=strength: visa(i, s)))
        rows.append(("cards", strength, lambda i, s=strength: card(i, s)))
    return rows


STRONG = ("perspective", "glare", "lowlight", "res720")
"""The ``strong`` visa and card rows take these conditions in turn (document i under STRONG[i % 4])."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("heldout", "tuning"), default="heldout")
    parser.add_argument("--n", type=int, default=20, help="documents per row")
    parser.add_argument("--seed-start", type=int, default=heldout.HELDOUT_SEEDS.start)
    parser.add_argument("--seed", type=int, default=7, help="seed of the tuning set")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wrong-check-digit", action="store_true", help="tuning set: one check digit misprinted")
    parser.add_argument("--no-peer", action="store_true", help="skip PassportEye")
    parser.add_argument("--dev", action="store_true", help="allow seeds outside HELDOUT_SEEDS (debugging only)")
    parser.add_argument("--only", default="", help="comma-separated conditions to run (heldout)")
    parser.add_argument("--log", type=Path, help="append one JSON line per document and reader (see --summarise)")
    parser.add_argument("--summarise", type=Path, nargs="+", help="print the per-row table of --log files and exit")
    parser.add_argument("--specimens", type=Path, default=ROOT.parent / "shared" / "data" / "mrz-specimens")
    args = parser.parse_args()
    if args.summarise:
        sys.stdout.write(summarise(args.summarise))
        return
    if args.set == "heldout" and args.seed_start not in heldout.HELDOUT_SEEDS and not args.dev:
        parser.error("the held-out set uses seeds from heldout_documents.HELDOUT_SEEDS only (--dev for others)")
    readers: dict[str, Any] = {"openkyc": openkyc_reader(args.threads)}
    peer = None if args.no_peer else passporteye_reader()
    if peer is not None:
        readers["passporteye"] = peer
    report: dict[str, Any] = {"set": args.set, "documents_per_row": args.n, "today": TODAY.isoformat(), "rows": []}
    if args.set == "tuning":
        rng = np.random.default_rng(args.seed)
        tallies = {name: Tally() for name in readers}
        for _ in range(args.n):
            if args.wrong_check_digit:
                doc = render.render_document(rng, today=TODAY)
                lines, _ = wrong_check_digit(doc, rng)
                person = doc.fields
                picture = render._draw_document(lines, person, doc.mrz_format == "TD1", None, rng)
                image, jpeg = render._photograph(picture, rng)
            else:
                doc = render.render_document(rng, today=TODAY)
                lines, image, jpeg = doc.lines, doc.image, doc.jpeg
            _evaluate(readers, tallies, lines, image, jpeg)
        report["seed"] = args.seed
        report["wrong_check_digit"] = args.wrong_check_digit
        report["rows"].append({"condition": "tuning", **_reports(tallies)})
    else:
        report["seed_start"] = args.seed_start
        only = {c for c in args.only.split(",") if c}
        rows = [row for row in heldout_rows(args) if not only or row[0] in only]
        row_tallies = [{name: Tally() for name in readers} for _ in rows]
        log = args.log.open("a") if args.log is not None else None
        for i in range(args.n):  # document by document across the rows: a run cut short stays balanced
            for (condition, strength, make), tallies in zip(rows, row_tallies, strict=True):
                doc, lines = make(i)
                if lines is None:
                    outcome = _evaluate_card(readers, tallies, doc)
                else:
                    outcome = _evaluate(readers, tallies, lines, doc.image, doc.jpeg)
                if log is not None:
                    record = {"condition": condition, "strength": strength, "seed": args.seed_start + i, **outcome}
                    log.write(json.dumps(record) + "\n")
                    log.flush()
        for (condition, strength, _), tallies in zip(rows, row_tallies, strict=True):
            report["rows"].append({"condition": condition, "strength": strength, **_reports(tallies)})
        if args.specimens.is_dir() and (not only or "specimens" in only):
            tallies = {name: Tally() for name in readers}
            for item in json.loads((args.specimens / "ground_truth.json").read_text()):
                if item["mrz"] is None:
                    continue
                jpeg = (args.specimens / item["image"]).read_bytes()
                image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                _evaluate(readers, tallies, item["mrz"], image, jpeg)
            report["rows"].append({"condition": "icao_specimens", "strength": "-", **_reports(tallies)})
    sys.stdout.write(json.dumps(report) + "\n")


def _evaluate(
    readers: dict[str, Any], tallies: dict[str, Tally], lines: list[str], image: Any, jpeg: bytes
) -> dict[str, Any]:
    truth = truth_fields(lines)
    outcome: dict[str, Any] = {}
    for name, read in readers.items():
        start, cpu = time.perf_counter(), time.process_time()
        got = read(image, jpeg)
        tallies[name].add(truth, lines, got, time.perf_counter() - start)
        outcome[name] = _outcome(truth, got, time.process_time() - cpu)
    return outcome


def _outcome(truth: dict[str, str], got: Reading, cpu: float) -> dict[str, Any]:
    fields, valid, _, unconfirmed = got
    exact = fields == truth
    out = {"found": fields is not None, "exact": exact, "valid": valid, "cpu_s": round(cpu, 2)}
    out["unconfirmed"] = list(unconfirmed)
    out["unconfirmed_wrong"] = bool(valid and not exact and unconfirmed_wrong(truth, fields, unconfirmed))
    return out


def unconfirmed_wrong(truth: dict[str, str], fields: dict[str, str] | None, unconfirmed: tuple[str, ...]) -> bool:
    """Whether every wrong field of a reading is one the answer calls unconfirmed (and one is wrong)."""
    if fields is None:
        return False
    wrong = {key for key in truth.keys() | fields.keys() if fields.get(key) != truth.get(key)}
    return bool(wrong) and wrong <= set(unconfirmed)


def card_truth(number: str, document_type: str) -> dict[str, str]:
    """What a card reading is compared on: its type and its number (spaces, brackets and dashes dropped)."""
    return {"document_type": document_type, "document_number": "".join(c for c in number if c.isalnum())}


def _evaluate_card(readers: dict[str, Any], tallies: dict[str, Tally], card: Any) -> dict[str, Any]:
    """An ID card read by OpenKYC (PassportEye reads only MRZs): ``valid`` is a ``Success`` answer."""
    truth = card_truth(card.number, card.document_type)
    start, cpu = time.perf_counter(), time.process_time()
    result = OPENKYC["reader"].read(card.image, today=TODAY)
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    number = result.fields.get("document_number")
    fields = None if result.document_type is None else card_truth(number or "", result.document_type)
    got = (fields, result.code == "Success", [], result.unconfirmed_fields)
    tallies["openkyc"].add(truth, [], got, seconds)
    return {"openkyc": _outcome(truth, got, cpu_s)}


def summarise(paths: list[Path]) -> str:
    """A markdown table, one row per condition and strength, of the documents logged by ``--log``."""
    counts: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            record = json.loads(line)
            row = counts.setdefault((record["condition"], record["strength"]), {})
            for name in ("openkyc", "passporteye"):
                if name not in record:
                    continue
                got = record[name]
                c = row.setdefault(
                    name, {"n": 0, "found": 0, "exact": 0, "valid": 0, "exact_valid": 0, "fv": 0, "uw": 0, "cpu": []}
                )
                excused = bool(got.get("unconfirmed_wrong"))  # absent in logs of runs before the field existed
                c["n"] += 1
                c["found"] += got["found"]
                c["exact"] += got["exact"]
                c["valid"] += got["valid"]
                c["exact_valid"] += got["exact"] and got["valid"]
                c["fv"] += got["valid"] and not got["exact"] and not excused
                c["uw"] += excused
                c["cpu"].append(got["cpu_s"])
    out = [
        "| condition | strength | reader | n | found | exact | valid | exact and valid | false valid "
        "| valid, wrong only where unconfirmed | CPU s median |"
    ]
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for (condition, strength), row in counts.items():
        for name, c in row.items():
            median = sorted(c["cpu"])[len(c["cpu"]) // 2]
            out.append(
                f"| {condition} | {strength} | {name} | {c['n']} | {c['found']} | {c['exact']} | {c['valid']} "
                f"| {c['exact_valid']} | {c['fv']} | {c['uw']} | {median} |"
            )
    return "\n".join(out) + "\n"


def _reports(tallies: dict[str, Tally]) -> dict[str, Any]:
    return {name: tally.report(lines=name == "openkyc") for name, tally in tallies.items()}


if __name__ == "__main__":
    main()
