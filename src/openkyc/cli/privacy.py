"""Privacy commands: ``purge`` (retention sweep), ``audit verify``, ``ropa``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from openkyc.cli.common import DataDirOption, JsonOption, cli_errors, emit, fail, load_settings
from openkyc.privacy import audit
from openkyc.runtime import Runtime

audit_cli = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def _runtime(data_dir: Path | None) -> Runtime:
    settings = load_settings(data_dir)
    if settings.master_key is None and not settings.resolved_master_key_file.exists():
        raise fail("no master key found: run `openkyc init` first", "FailedOperation.NotInitialised")
    return Runtime.open(settings)


def purge(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """Run the retention sweep now: delete expired media, orphans, old call records and signatures."""
    from openkyc.privacy.sweep import run_sweep

    runtime = _runtime(data_dir)
    try:
        with cli_errors():
            report = run_sweep(runtime, actor="admin-cli")
    finally:
        runtime.close()

    def human(payload: dict[str, Any]) -> None:
        for name, count in payload["counts"].items():
            typer.echo(f"{name}: {count}")
        typer.echo(f"total deleted: {payload['total']}")

    emit(report.as_dict(), as_json, human)


def _parse_head(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise fail("--expected-head must be SEQ:HASH (a 64-character hex hash)", "InvalidParameterValue.ExpectedHead")
    return int(seq), digest.lower()


@audit_cli.command("verify")
def audit_verify(
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
    expected_head: str | None = typer.Option(
        None, "--expected-head", help="SEQ:HASH printed by an earlier run; detects removed newest records."
    ),
) -> None:
    """Check the audit chain; exits 1 when a record was edited, deleted, inserted or reordered."""
    head = _parse_head(expected_head)
    runtime = _runtime(data_dir)
    try:
        with runtime.transaction() as session:
            report = audit.verify(session, expected_head=head)
    finally:
        runtime.close()
    payload = {
        "ok": report.ok,
        "records": report.records,
        "head": f"{report.records if report.ok else (report.first_bad_seq or 1) - 1}:{report.head_hash}",
        "head_hash": report.head_hash,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
    }

    def human(p: dict[str, Any]) -> None:
        if p["ok"]:
            typer.echo(f"audit chain ok: {p['records']} records, head {p['head']}")
        else:
            typer.echo(f"audit chain BROKEN at record {p['first_bad_seq']}: {p['reason']}")
            typer.echo(f"last good head {p['head']}")

    emit(payload, as_json, human)
    if not report.ok:
        raise typer.Exit(1)


def ropa(
    fmt: str = typer.Option("md", "--format", help="md, json or html."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Print the GDPR Article 30 record of processing, generated from the policy and configuration."""
    from openkyc.privacy.service import record_of_processing

    if fmt not in ("md", "json", "html"):
        raise fail("--format must be md, json or html", "InvalidParameterValue.Format")
    runtime = _runtime(data_dir)
    try:
        with cli_errors():
            typer.echo(record_of_processing(runtime, fmt), nl=False)  # type: ignore[arg-type]
    finally:
        runtime.close()


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
    app.command("ropa")(ropa)
    app.add_typer(audit_cli, name="audit")
