"""Bulk enrolment (``openkyc import``): how much of its time is the model and how much the database.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_import.py [--photos 300] [--subjects 100000]
        [--batch 32] [--data ../shared/data]

Prints one JSON document with three parts, each on a fresh SQLite data directory (``openkyc init``):

* ``cli``: ``openkyc import`` of a folder of ``--photos`` real photos (facerec-examples and
  dlib-johns, repeated under new subject ids; collection without duplicate check, since the
  photos repeat), run as a subprocess: its own ``per_second`` (model loading included) and wall time.
* ``split``: the same photos through ``FaceService.enrol_many`` in batches of ``--batch`` (the
  loop ``openkyc import`` runs), with ``FaceEngine.enrol`` timed inside it: ``model_s`` (decode,
  detection, embedding, template) against ``rest_s`` (transactions, subject keys, sealing, rows),
  and ``model_share``.
* ``database``: ``--subjects`` subjects through the same loop with the model step replaced by
  precomputed templates (distinct random codes of the size and version the app's key makes, so the collection keeps its duplicate
  check and each batch is one 1:N scan), i.e. the database side alone at that scale:
  ``rows_per_s`` (and per CPU second, and over each tenth of the run: the first against the last
  shows any slowdown with size), next to ``model_images_per_s`` from ``split``;
  ``database_over_model`` (wall) and ``database_over_model_cpu`` say how many times faster than
  the model the database side is. ``--only photos|database`` runs one side;
  ``--no-duplicate-check`` writes into a collection without the check (no 1:N scan per batch,
  whose cost grows with the collection: every new face is compared with every enrolled one);
  ``--prefill N`` first writes N subjects straight into the tables (sealed as the import seals
  them) and loads the index, to measure the rate at that size in minutes.

The import has no path that takes precomputed embeddings (every template is made from a photo
under the app's key), so the database part substitutes the model step inside the benchmark only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OPENKYC = str(Path(sys.executable).parent / "openkyc")
ENV = {**os.environ, "OPENKYC_LOG_LEVEL": "WARNING", "OPENKYC_MODEL_THREADS": "1"}


def _photos(data: Path, count: int) -> list[Path]:
    found = sorted(
        p
        for folder in (data / "facerec-examples" / "identities", data / "dlib-johns")
        for p in folder.rglob("*")
        if p.suffix.lower() in {".jpg", ".jpeg", ".png"}
    )
    return [found[i % len(found)] for i in range(count)]


def _init(data_dir: Path) -> int:
    done = subprocess.run(
        [OPENKYC, "init", "--data-dir", str(data_dir), "--json"], capture_output=True, check=True, env=ENV
    )
    return int(json.loads(done.stdout)["app_id"])


def _open(data_dir: Path, app_id: int, duplicate_check: bool) -> tuple[Any, Any, str]:
    from openkyc.biometrics.service import FaceService
    from openkyc.runtime import Runtime
    from openkyc.settings import Settings

    runtime = Runtime.open(Settings(data_dir=data_dir, model_threads=1))
    service = FaceService(
        runtime.access, runtime.models, runtime.face_index, app_id, template_bits=runtime.settings.template_bits
    )
    collection = service.create_collection("bench", duplicate_check=duplicate_check)["collection_id"]
    return runtime, service, collection


def cli_import(photos: list[Path], batch: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, folder = Path(tmp) / "data", Path(tmp) / "photos"
        app_id = _init(data_dir)
        runtime, _, collection = _open(data_dir, app_id, duplicate_check=False)
        runtime.close()
        folder.mkdir()
        for i, photo in enumerate(photos):
            shutil.copy(photo, folder / f"p{i:06d}{photo.suffix}")
        start = time.perf_counter()
        done = subprocess.run(
            [OPENKYC, "import", str(folder), "--collection", collection, "--app-id", str(app_id),
             "--batch", str(batch), "--data-dir", str(data_dir), "--json"],
            capture_output=True, check=True, env=ENV,
        )  # fmt: skip
        wall = time.perf_counter() - start
    result = json.loads(done.stdout)
    return {
        "items": result["items"],
        "enrolled": result["enrolled"],
        "seconds": result["seconds"],
        "per_second": result["per_second"],
        "process_wall_s": round(wall, 2),
    }


def split(photos: list[Path], batch: int) -> dict[str, Any]:
    from openkyc.biometrics.engine import FaceEngine

    images = [p.read_bytes() for p in photos]
    enrol = FaceEngine.enrol
    model_s = [0.0, 0.0]  # wall, CPU (the model runs on one thread: OPENKYC_MODEL_THREADS=1)

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return enrol(self, *args, **kwargs)
        finally:
            model_s[0] += time.perf_counter() - start
            model_s[1] += time.process_time() - cpu

    with tempfile.TemporaryDirectory() as tmp:
        app_id = _init(Path(tmp))
        runtime, service, collection = _open(Path(tmp), app_id, duplicate_check=False)
        try:
            service.enrol_many(collection, [("warm", images[0], None)])  # model set built, not counted
            FaceEngine.enrol = timed  # type: ignore[method-assign]
            start, cpu = time.perf_counter(), time.process_time()
            enrolled = 0
            for first in range(0, len(images), batch):
                items = [(f"s{i}", images[i], None) for i in range(first, min(len(images), first + batch))]
                enrolled += sum(a["status"] == "enrolled" for a in service.enrol_many(collection, items))
            total, cpu_total = time.perf_counter() - start, time.process_time() - cpu
        finally:
            FaceEngine.enrol = enrol  # type: ignore[method-assign]
            runtime.close()
    return {
        "items": len(images),
        "enrolled": enrolled,
        "seconds": round(total, 2),
        "per_second": round(len(images) / total, 2),
        "model_s": round(model_s[0], 2),
        "rest_s": round(total - model_s[0], 2),
        "model_share": round(model_s[0] / total, 3),
        "model_images_per_s": round(len(images) / model_s[0], 2),
        "cpu_s": round(cpu_total, 2),
        "model_cpu_s": round(model_s[1], 2),
        "model_share_cpu": round(model_s[1] / cpu_total, 3),
        "model_images_per_cpu_s": round(len(images) / model_s[1], 2),
        "rest_per_image_ms": round((total - model_s[0]) * 1000 / len(images), 2),
    }


def _prefill(runtime: Any, service: Any, app_id: int, collection: str, count: int, bits: int, version: int) -> None:
    """``count`` subjects written straight into the tables, sealed as the import seals them (a key
    each in the key store, template and id sealed under it), then read into the index: the
    collection's size at which ``database`` then measures (no 100,000-subject run for a figure)."""
    import secrets
    from datetime import UTC, datetime

    from openkyc.biometrics.repository import seal_template
    from openkyc.biometrics.templates import FaceTemplate
    from openkyc.privacy.crypto import SealingKey, new_key
    from openkyc.store.models.faces import Subject
    from openkyc.store.subject_keys import StoredKey

    with runtime.transaction() as session:
        key = service._key(session, "sface")
    keys, now = runtime.subject_keys, datetime.now(UTC)
    codes = np.random.default_rng(29).integers(0, 256, size=(count, bits // 8), dtype=np.uint8)
    for start in range(0, count, 20_000):
        key_rows, rows = [], []
        for i in range(start, min(count, start + 20_000)):
            subject_id = f"pre{i}"
            ref = keys.subject_ref(app_id, subject_id)
            own = SealingKey("sk-" + secrets.token_hex(12), new_key())
            key_rows.append(
                {"id": own.key_id, "owner_ref": ref, "app_id": app_id, "wrapped_key": keys._wrapping.wrap(own.key_id, own.key),
                 "wrapped_by": keys._wrapping.key_id, "created_at": now, "expires_at": None}
            )  # fmt: skip
            template = FaceTemplate(key.key_id, bits, codes[i].tobytes(), version).to_bytes()
            rows.append(
                {"collection_id": collection, "app_id": app_id, "subject_id": ref,
                 "subject_id_enc": own.encrypt_text(subject_id, f"subject-id:{app_id}:{ref}".encode()),
                 "template": seal_template(own, app_id, collection, ref, template), "template_version": version,
                 "key_id": key.key_id, "identification_enc": None, "image_blob_id": None, "created_at": now}
            )  # fmt: skip
        with keys.engine.begin() as connection:
            connection.execute(StoredKey.__table__.insert(), key_rows)
        with runtime.engine.begin() as connection:
            connection.execute(Subject.__table__.insert(), rows)
    with runtime.transaction() as session:
        service.index.load(session, service._repo(session))


def database(subjects: int, batch: int, duplicate_check: bool = True, prefill: int = 0) -> dict[str, Any]:
    from openkyc.biometrics.calibration import template_bits, template_version
    from openkyc.biometrics.engine import Enrolment, FaceEngine
    from openkyc.biometrics.templates import FaceTemplate

    bits, version = template_bits("sface"), template_version("sface")  # what the app's key makes
    codes = np.random.default_rng(13).integers(0, 256, size=(subjects, bits // 8), dtype=np.uint8)
    enrol = FaceEngine.enrol

    def precomputed(self: Any, data: bytes, key: Any, **_: bool) -> Any:
        template = FaceTemplate(key.key_id, bits, codes[int(data)].tobytes(), version)
        return Enrolment(template, None, None)  # type: ignore[arg-type]

    progress: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        app_id = _init(Path(tmp))
        runtime, service, collection = _open(Path(tmp), app_id, duplicate_check=duplicate_check)
        if prefill:
            _prefill(runtime, service, app_id, collection, prefill, bits, version)
        FaceEngine.enrol = precomputed  # type: ignore[method-assign,assignment]
        try:
            start, cpu = time.perf_counter(), time.process_time()
            enrolled = 0
            every = max(1, subjects // batch // 10)
            for first in range(0, subjects, batch):
                items = [(f"s{i}", str(i).encode(), None) for i in range(first, min(subjects, first + batch))]
                enrolled += sum(a["status"] == "enrolled" for a in service.enrol_many(collection, items))
                if (first // batch + 1) % every == 0 or first + batch >= subjects:
                    progress.append(
                        {
                            "done": first + len(items),
                            "s": round(time.perf_counter() - start, 2),
                            "cpu_s": round(time.process_time() - cpu, 2),
                            "load": round(os.getloadavg()[0], 1),
                        }
                    )
                    sys.stderr.write(json.dumps(progress[-1]) + "\n")  # a run cut short still tells
            total, cpu_total = time.perf_counter() - start, time.process_time() - cpu
        finally:
            FaceEngine.enrol = enrol  # type: ignore[method-assign]
            runtime.close()
    # rows/s over each tenth of the run (wall and CPU): the first against the last shows any slowdown with size
    segments = []
    for before, after in zip([{"done": 0, "s": 0.0, "cpu_s": 0.0}, *progress], progress, strict=False):
        rows = after["done"] - before["done"]
        segments.append(
            {
                "up_to": after["done"],
                "rows_per_s": round(rows / max(after["s"] - before["s"], 1e-9), 1),
                "rows_per_cpu_s": round(rows / max(after["cpu_s"] - before["cpu_s"], 1e-9), 1),
                "load": after["load"],
            }
        )
    return {
        "subjects": subjects,
        "prefilled": prefill,
        "batch": batch,
        "enrolled": enrolled,
        "seconds": round(total, 2),
        "cpu_seconds": round(cpu_total, 2),
        "rows_per_s": round(subjects / total, 1),
        "rows_per_cpu_s": round(subjects / cpu_total, 1),
        "first_tenth": segments[0] if segments else None,
        "last_tenth": segments[-1] if segments else None,
        "segments": segments,
        "duplicate_check": duplicate_check,
        "note": "model step replaced by precomputed random templates"
        + ("; duplicate check on (one 1:N batch scan each)" if duplicate_check else "; no duplicate check"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--only", choices=("photos", "database"), help="run only the photo parts or the database part")
    parser.add_argument("--prefill", type=int, default=0, help="subjects written straight in before the run")
    parser.add_argument(
        "--no-duplicate-check", action="store_true", help="database part into a collection without duplicate check"
    )
    args = parser.parse_args()
    out: dict[str, Any] = {"load_average_before": os.getloadavg()[0]}
    if args.only != "database":
        photos = _photos(args.data, args.photos)
        out["cli"] = cli_import(photos, args.batch)
        out["split"] = split(photos, args.batch)
    if args.only != "photos":
        out["database"] = database(
            args.subjects, args.batch, duplicate_check=not args.no_duplicate_check, prefill=args.prefill
        )
    if "split" in out and "database" in out:
        out["database_over_model"] = round(out["database"]["rows_per_s"] / out["split"]["model_images_per_s"], 1)
        out["database_over_model_cpu"] = round(
            out["database"]["rows_per_cpu_s"] / out["split"]["model_images_per_cpu_s"], 1
        )
    out["load_average_after"] = os.getloadavg()[0]
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
