"""``openkyc import``: bulk enrolment of a folder of photos or a CSV into a collection.

Enrolment runs at the models' speed: images are read and enrolled in batches (one model lease
per batch) and each batch is written in one transaction, its duplicate check (when the collection
has one) one batch scan of the 1:N index. Runs beside a serving process: the API processes pick
the new subjects up from ``index_events`` as for any enrolment.
"""

from __future__ import annotations

import csv
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from openkyc.cli.common import ID_MAX, ID_MIN, DataDirOption, JsonOption, emit, fail, load_settings, stderr_console

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
SUBJECT_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")  # as the API's subject_id (whole id: fullmatch)
IDENTIFICATION_COLUMNS = ("name", "id_number", "date_of_birth", "address", "country")

PROGRESS_EVERY = 10.0  # seconds between progress lines when stderr is not a terminal

Item = tuple[str, Path, dict[str, Any] | None]


def _items(source: Path) -> list[Item]:
    """``(subject id, image path, identification)``: a folder's images named by their stem, or a
    CSV with ``subject_id,image`` (paths relative to the CSV) and optional identification columns."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        return [(p.stem, p, None) for p in files]
    if not source.is_file():
        raise fail(f"{source.name}: no such folder or CSV file", "InvalidParameterValue.FileNotFound")
    try:
        with source.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise fail(f"cannot read {source.name} as CSV", "InvalidParameterValue.ImportFile") from exc
    if rows and not {"subject_id", "image"} <= set(rows[0]):
        raise fail("the CSV needs the columns subject_id and image", "InvalidParameterValue.ImportFile")
    items: list[Item] = []
    for row in rows:  # a short row has None in its missing columns: that item fails alone, later
        ident = {c: row[c] for c in IDENTIFICATION_COLUMNS if row.get(c)}
        image = row.get("image") or ""
        items.append((row.get("subject_id") or "", source.parent / image if image else source.parent, ident or None))
    return items


def _batches(items: list[Item], size: int) -> Iterator[list[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_subjects(
    source: Path = typer.Argument(..., help="A folder of photos (subject id = file name stem) or a CSV file."),
    collection_id: str = typer.Option(..., "--collection", help="The collection to enrol into."),
    app_id: int = typer.Option(..., "--app-id", help="APPID owning the collection.", min=ID_MIN, max=ID_MAX),
    batch: int = typer.Option(32, min=1, max=1024, help="Images per model lease and per database transaction."),
    rule_id: str | None = typer.Option(None, help="Rule whose compare_threshold the duplicate check uses."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Enrol many subjects at once, with a progress bar; prints counts and each failure's code."""
    from openkyc.biometrics.search import IndexManager
    from openkyc.biometrics.service import FaceService
    from openkyc.runtime import Runtime

    items = _items(source)
    settings = load_settings(data_dir)
    if settings.master_key is None and not settings.resolved_master_key_file.exists():
        raise fail("no master key found: run `openkyc init` first", "FailedOperation.NotInitialised")
    runtime = Runtime.open(settings)
    index = IndexManager(threads=settings.search_threads)
    service = FaceService(runtime.access, runtime.models, index, app_id, template_bits=settings.template_bits)
    counts: dict[str, int] = {"enrolled": 0, "failed": 0}
    failures: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        described = service.describe_collection(collection_id)  # ResourceNotFound before any work
        if described["duplicate_check"]:
            from openkyc.biometrics.repository import SubjectRepository

            with runtime.transaction() as session:
                index.load(session, SubjectRepository(session, runtime.gate, runtime.keyring))

        def run(advance: Any) -> None:
            position = 0
            for chunk in _batches(items, batch):
                loaded: list[tuple[str, bytes, dict[str, Any] | None]] = []
                unreadable: list[int] = []
                for offset, (sid, path, ident) in enumerate(chunk):
                    code = None if SUBJECT_ID.fullmatch(sid) else "InvalidParameterValue.SubjectId"
                    if code is None:
                        try:
                            loaded.append((sid, path.read_bytes(), ident))
                        except OSError:  # missing, a folder, unreadable
                            code = "InvalidParameterValue.FileNotFound"
                    if code is not None:
                        unreadable.append(offset)
                        failures.append({"item": position + offset + 1, "code": code})
                answers = service.enrol_many(collection_id, loaded, rule_id) if loaded else []
                counts["failed"] += len(unreadable)
                skipped = set(unreadable)
                kept = [o for o in range(len(chunk)) if o not in skipped]
                for offset, answer in zip(kept, answers, strict=True):
                    counts[answer["status"]] += 1
                    if answer["status"] != "enrolled":
                        failures.append({"item": position + offset + 1, "code": answer["code"]})
                position += len(chunk)
                advance(len(chunk))

        if not stderr_console().is_terminal:  # logs, pipes: a line every PROGRESS_EVERY seconds instead of a bar
            done, last = [0], [time.perf_counter()]

            def line(n: int) -> None:
                done[0] += n
                now = time.perf_counter()
                if now - last[0] >= PROGRESS_EVERY and done[0] < len(items):
                    last[0] = now
                    rate = done[0] / (now - started)
                    stderr_console().print(f"enrolling: {done[0]} of {len(items)} ({rate:.1f} a second)")

            run(line)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            columns = (
                TextColumn("enrolling"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=stderr_console(), transient=True) as bar:
                task = bar.add_task("enrolling", total=len(items), rate="")

                def step(n: int) -> None:
                    bar.advance(task, n)
                    rate = bar.tasks[0].completed / max(time.perf_counter() - started, 1e-9)
                    bar.update(task, rate=f"{rate:.1f}/s")

                run(step)
    finally:
        runtime.close()
    seconds = time.perf_counter() - started
    result = {
        "collection_id": collection_id,
        "items": len(items),
        **counts,
        "seconds": round(seconds, 2),
        "per_second": round(len(items) / seconds, 2) if seconds else None,
        "failures": sorted(
            failures, key=lambda f: int(f["item"])
        ),  # item numbers (1-based, in folder or CSV order) and error codes only
    }

    def human(payload: dict[str, Any]) -> None:
        typer.echo(
            f"enrolled {payload['enrolled']} of {payload['items']}, failed {payload['failed']}, "
            f"in {payload['seconds']} s ({payload['per_second']} a second)"
        )
        by_code = Counter(str(failure["code"]) for failure in payload["failures"])
        for code, count in by_code.most_common():
            typer.echo(f"  {count} x {code}")
        for failure in payload["failures"]:
            typer.echo(f"  item {failure['item']}: {failure['code']}")

    emit(result, as_json, human)


def register(app: typer.Typer) -> None:
    app.command("import")(import_subjects)
