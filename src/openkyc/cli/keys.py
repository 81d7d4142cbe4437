"""Key rotation commands: ``openkyc keys rotate-master | rotate-data | rotate-template``."""

from __future__ import annotations

from pathlib import Path

import typer

from openkyc.cli.admin import _require_app, _runtime
from openkyc.cli.common import ID_MAX, ID_MIN, DataDirOption, JsonOption, cli_errors, emit, fail, stderr_console

keys_cli = typer.Typer(help="Encryption keys: master key and data keys.", no_args_is_help=True)


@keys_cli.command("rotate-master")
def keys_rotate_master(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """Re-wrap every data key under a new master key; the old key file is kept as master.old."""
    from openkyc.privacy import audit
    from openkyc.privacy.audit_signing import rewrap_audit_key
    from openkyc.privacy.crypto import MasterKey, new_key
    from openkyc.store.keys import replace_master_key_file, rewrap_data_keys

    runtime = _runtime(data_dir)
    if runtime.settings.master_key is not None:
        raise fail("the master key comes from OPENKYC_MASTER_KEY: rotate it where it is set", "UnsupportedOperation")
    new = MasterKey(new_key())
    with runtime.transaction() as session:
        count = rewrap_data_keys(session, runtime.master_key, new)
        rewrap_audit_key(session, runtime.master_key, new)
        audit.append(
            session,
            audit.AuditEvent.KEY_ROTATION,
            actor="admin-cli",
            details={"key": "master", "master_key_id": new.key_id, "rewrapped_data_keys": count},
        )
        subject_count = runtime.subject_keys.rewrap(new)  # the key store, last: one commit of its own
        backup = replace_master_key_file(runtime.settings.resolved_master_key_file, new)
    emit(
        {
            "rewrapped_data_keys": count,
            "rewrapped_subject_keys": subject_count,
            "master_key_id": new.key_id,
            "old_key_file": str(backup),
        },
        as_json,
    )


@keys_cli.command("rotate-data")
def keys_rotate_data(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """Start a new data key for new writes; existing data stays readable under its old key."""
    from openkyc.privacy import audit
    from openkyc.store.keys import create_data_key

    runtime = _runtime(data_dir)
    with runtime.transaction() as session:
        key_id = create_data_key(session, runtime.master_key)
        audit.append(
            session,
            audit.AuditEvent.KEY_ROTATION,
            actor="admin-cli",
            details={"key": "data", "active_data_key": key_id},
        )
    emit({"active_data_key": key_id}, as_json)


@keys_cli.command("rotate-template")
def keys_rotate_template(
    app_id: int = typer.Option(..., help="APPID whose face-template key is rotated.", min=ID_MIN, max=ID_MAX),
    queue: bool = typer.Option(False, "--queue", help="Hand the rotation to the job worker (needs Redis)."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """New secret projection for an app's face templates; re-issues those whose photo is retained."""
    from rich.progress import Progress

    from openkyc.biometrics.rotation import rotate_template_key
    from openkyc.privacy import audit

    runtime = _runtime(data_dir)
    _require_app(runtime, app_id)
    if queue:
        from openkyc.jobs.queue import RedisJobs, redis_connection

        if not runtime.settings.redis_url:
            raise fail(
                "--queue needs OPENKYC_REDIS_URL (a job worker); without it, run it here", "FailedOperation.NoJobQueue"
            )
        RedisJobs(redis_connection(runtime.settings.redis_url)).enqueue_template_rotation(app_id)
        emit({"app_id": app_id, "queued": True}, as_json)
        return
    with cli_errors():
        if as_json or not stderr_console().is_terminal:
            report = rotate_template_key(runtime.access, runtime.models, app_id, bits=runtime.settings.template_bits)
        else:
            with Progress(console=stderr_console(), transient=True) as bar:
                task = bar.add_task("re-issuing templates", total=None)
                report = rotate_template_key(
                    runtime.access,
                    runtime.models,
                    app_id,
                    lambda done, total: bar.update(task, completed=done, total=total),
                    bits=runtime.settings.template_bits,
                )
    with runtime.transaction() as session:
        audit.append(
            session, audit.AuditEvent.KEY_ROTATION, actor="admin-cli", app_id=app_id, details={"key": "template"}
        )
    emit(report.as_dict(), as_json)
