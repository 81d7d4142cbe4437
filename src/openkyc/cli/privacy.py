"""Privacy commands: ``purge`` (retention sweep), ``audit verify|head|checkpoint``, ``ropa``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from openkyc.cli.common import DataDirOption, JsonOption, cli_errors, emit, fail, load_settings

if TYPE_CHECKING:
    from openkyc.runtime import Runtime

audit_cli = typer.Typer(help="The signed, hash-chained audit log and its checkpoints.", no_args_is_help=True)


def _runtime(data_dir: Path | None) -> Runtime:
    from openkyc.runtime import Runtime

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
            report = run_sweep(runtime.sweeper, actor="admin-cli")
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
        None, "--expected-head", help="SEQ:HASH kept elsewhere (`openkyc audit head`); detects removed newest records."
    ),
) -> None:
    """Check the audit log: chain, signatures and checkpoints; exits 1 with the reason when tampered."""
    from openkyc.privacy import audit

    head = _parse_head(expected_head)
    runtime = _runtime(data_dir)
    try:
        with runtime.transaction() as session:
            report = audit.verify(session, expected_head=head)
    finally:
        runtime.close()

    def human(p: dict[str, Any]) -> None:
        if p["ok"]:
            legacy = f", {p['legacy_unsigned']} unsigned legacy" if p["legacy_unsigned"] else ""
            typer.echo(
                f"audit log ok: {p['records']} records ({p['signed']} signed{legacy}), "
                f"{p['checkpoints']} checkpoints, head {p['head']}"
            )
        else:
            where = f" at record {p['first_bad_seq']}" if p["first_bad_seq"] is not None else ""
            typer.echo(f"audit log BROKEN{where}: {p['reason']}")
            typer.echo(f"last good head {p['head']}")

    emit(report.as_dict(), as_json, human)
    if not report.ok:
        raise typer.Exit(1)


def _emit_head(checkpoint: Any, as_json: bool, verb: str) -> None:
    if checkpoint is None:
        emit({"head": None}, as_json, lambda _: typer.echo("the audit log is empty"))
        return
    payload = {**checkpoint.as_dict(), "head": checkpoint.head}

    def human(p: dict[str, Any]) -> None:
        typer.echo(f"{verb} {p['head']}")
        typer.echo(f"time {p['time']}  legacy_until {p['legacy_until']}  mac {p['mac']}")

    emit(payload, as_json, human)


@audit_cli.command("head")
def audit_head(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """Print the signed head (seq, hash, time, mac) to keep somewhere the database's admins cannot edit."""
    from openkyc.privacy import audit

    runtime = _runtime(data_dir)
    try:
        with runtime.transaction() as session:
            checkpoint = audit.current_head(session)
    finally:
        runtime.close()
    _emit_head(checkpoint, as_json, "head")


@audit_cli.command("checkpoint")
def audit_checkpoint(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """Verify the log, then append its signed head to the checkpoint file (also to re-anchor after a restore)."""
    from openkyc.privacy import audit

    runtime = _runtime(data_dir)
    try:
        with runtime.transaction() as session:
            report = audit.verify(session, require_checkpoint=False)
            checkpoint = audit.current_head(session) if report.ok else None
            signer = audit.signer_for(session)
        if not report.ok:
            raise fail(f"the audit log does not verify: {report.reason}", "FailedOperation.AuditLogBroken", 1)
        if checkpoint is not None:
            signer.write(checkpoint)
    finally:
        runtime.close()
    _emit_head(checkpoint, as_json, "checkpoint written for")


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
            typer.echo(record_of_processing(runtime.access, runtime.settings, fmt), nl=False)  # type: ignore[arg-type]
    finally:
        runtime.close()


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
    app.command("ropa")(ropa)
    app.add_typer(audit_cli, name="audit")
