"""Background work: ``openkyc worker`` (the RQ job worker) and ``openkyc webhooks secret``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import typer

from openkyc.cli.common import ID_MAX, ID_MIN, DataDirOption, JsonOption, emit, fail, load_settings

webhooks_cli = typer.Typer(help="Signed webhook notifications of verification results.", no_args_is_help=True)


def worker(
    data_dir: Path | None = DataDirOption,
    burst: bool = typer.Option(False, "--burst", help="Run what is queued, then exit (scripts, tests)."),
    no_sweeps: bool = typer.Option(
        False, "--no-sweeps", help="Do not enqueue the periodic retention sweep from this worker."
    ),
) -> None:
    """Run the job worker: webhooks, retention sweeps, template rotations (needs OPENKYC_REDIS_URL)."""
    from openkyc.jobs.worker import run_worker
    from openkyc.logs import configure_logging

    settings = load_settings(data_dir)
    if not settings.redis_url:
        raise fail(
            "OPENKYC_REDIS_URL is not set: without Redis the API process runs its jobs itself, "
            "and no worker is needed (see docs/deployment.md)",
            "FailedOperation.NoJobQueue",
        )
    if settings.master_key is None and not settings.resolved_master_key_file.exists():
        raise fail("no master key found: run `openkyc init` first", "FailedOperation.NotInitialised")
    configure_logging(settings.log_level, settings.log_format)
    typer.echo(f"job worker on {_safe_url(settings.redis_url)} (queue openkyc){', burst' if burst else ''}")
    run_worker(settings, burst=burst, schedule_sweeps=not no_sweeps)


def _safe_url(url: str) -> str:
    """The Redis URL without its user name and password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


@webhooks_cli.command("secret")
def webhooks_secret(
    app_id: int = typer.Option(..., help="APPID whose webhook signing secret is shown.", min=ID_MIN, max=ID_MAX),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Show an app's webhook signing secret (HMAC-SHA256 key of X-OpenKYC-Signature)."""
    from openkyc.jobs.webhooks import SIGNATURE_HEADER, webhook_secret
    from openkyc.runtime import Runtime
    from openkyc.store.models.accounts import App

    settings = load_settings(data_dir)
    if settings.master_key is None and not settings.resolved_master_key_file.exists():
        raise fail("no master key found: run `openkyc init` first", "FailedOperation.NotInitialised")
    runtime = Runtime.open(settings)
    try:
        with runtime.transaction() as session:
            if session.get(App, app_id) is None:
                raise fail("no such app", "ResourceNotFound.App")
        secret = webhook_secret(runtime.keyring, app_id)
    finally:
        runtime.close()
    emit({"app_id": app_id, "secret": secret, "header": SIGNATURE_HEADER, "algorithm": "HMAC-SHA256"}, as_json)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(webhooks_cli, name="webhooks")
