"""Set-up and administration: init, serve, db upgrade, apps, users, credentials (keys: ``cli/keys.py``)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from openkyc.accounts.roles import Role
from openkyc.cli.common import (
    ID_MAX,
    ID_MIN,
    DataDirOption,
    JsonOption,
    cli_errors,
    emit,
    fail,
    load_settings,
)

if TYPE_CHECKING:  # the commands import what they use when they run: `openkyc --help` loads none of it
    from openkyc.accounts import service as accounts
    from openkyc.runtime import Runtime
    from openkyc.settings import Settings

apps_cli = typer.Typer(help="Apps (each app has its own credentials, rules and data).", no_args_is_help=True)
users_cli = typer.Typer(help="Console users of the account.", no_args_is_help=True)
credentials_cli = typer.Typer(help="API credentials (SecretId / SecretKey).", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)


def _runtime(data_dir: Path | None) -> Runtime:
    from openkyc.runtime import Runtime

    settings = load_settings(data_dir)
    if settings.master_key is None and not settings.resolved_master_key_file.exists():
        raise fail("no master key found: run `openkyc init` first", "FailedOperation.NotInitialised")
    return Runtime.open(settings)


def _require_app(runtime: Runtime, app_id: int) -> None:
    """A missing app is one clear error, never a database constraint failure."""
    from openkyc.store.models.accounts import App

    with runtime.transaction() as session:
        if session.get(App, app_id) is None:
            raise fail(f"no app has APPID {app_id} (see `openkyc apps list`)", "ResourceNotFound.App")


def _default_account(runtime: Runtime) -> int:
    from sqlalchemy import select

    from openkyc.store.models.accounts import Account

    with runtime.transaction() as session:
        account_id = session.scalar(select(Account.id).order_by(Account.created_at).limit(1))
    if account_id is None:
        raise fail("no account exists: run `openkyc init` first", "FailedOperation.NotInitialised")
    return int(account_id)


def init(
    data_dir: Path | None = DataDirOption,
    account_name: str = typer.Option("default", help="Name of the account."),
    app_name: str = typer.Option("default", help="Name of the first app."),
    admin_user: str = typer.Option("admin", help="User name of the owner."),
    admin_password: str | None = typer.Option(None, help="Owner password (default: generated and printed once)."),
    if_missing: bool = typer.Option(
        False, "--if-missing", help="Do nothing (exit 0) when an account already exists (`make run`)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create the database, an account, an owner user, an app and one credential.

    Whether the data directory is initialised is decided by the database (an account exists),
    never by the master key file, which ``serve`` also creates.
    """
    from sqlalchemy import select

    from openkyc.accounts import service as accounts
    from openkyc.privacy.crypto import write_master_key_file
    from openkyc.runtime import Runtime
    from openkyc.store.models.accounts import Account

    settings = load_settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key_file = settings.resolved_master_key_file
    if settings.master_key is None and not key_file.exists():
        write_master_key_file(key_file)
    runtime = Runtime.open(settings)
    password = admin_password or secrets.token_urlsafe(18)
    with runtime.transaction() as session:
        existing = session.scalar(select(Account.id).order_by(Account.created_at).limit(1))
    if existing is not None:
        runtime.close()
        if not if_missing:
            raise fail("this data directory is already initialised", "FailedOperation.AlreadyInitialised")
        where = str(settings.data_dir.resolve())
        emit(
            {"initialised": False, "account_id": existing, "data_dir": where},
            as_json,
            lambda _: typer.echo(f"{where}: already initialised (account {existing}); its credential was shown once"),
        )
        return
    with cli_errors(), runtime.transaction() as session:
        if session.scalar(select(Account.id).limit(1)) is not None:
            raise fail("this data directory is already initialised", "FailedOperation.AlreadyInitialised")
        account = accounts.create_account(session, account_name)
        accounts.create_user(session, account.id, admin_user, password, Role.OWNER, actor="admin-cli")
        app = accounts.create_app(session, account.id, app_name, actor="admin-cli")
        issued = accounts.create_credential(session, runtime.keyring, app.id, actor="admin-cli")
    runtime.close()
    result: dict[str, Any] = {
        "account_id": account.id,
        "app_id": app.id,
        "secret_id": issued.secret_id,
        "secret_key": issued.secret_key,
        "admin_user": admin_user,
        "data_dir": str(settings.data_dir.resolve()),
    }
    if admin_password is None:
        result["admin_password"] = password

    def human(payload: dict[str, Any]) -> None:
        for key, value in payload.items():
            typer.echo(f"{key}: {value}")
        typer.echo("The secret key and password are shown only this once; keep them safe.")

    emit(result, as_json, human)


def _url_host(host: str) -> str:
    """The host as a client would type it: a wildcard address becomes 127.0.0.1, IPv6 gets brackets."""
    if host in {"0.0.0.0", "::", ""}:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


SQLITE_ONE_PROCESS = (
    "SQLite is the embedded single-process default: it has one writer, and the 1:N index and the "
    "background jobs live inside the one process. Use PostgreSQL (OPENKYC_DATABASE_URL) and Redis "
    "(OPENKYC_REDIS_URL, with `openkyc worker`) for --workers above 1; see docs/deployment.md."
)


def serve(
    data_dir: Path | None = DataDirOption,
    host: str | None = typer.Option(None, help="Listen address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8080)."),
    workers: int | None = typer.Option(
        None, min=1, max=64, help="API processes (default 1; above 1 needs PostgreSQL)."
    ),
) -> None:
    """Run the HTTP API and web pages (migrations are applied first)."""
    import uvicorn
    from sqlalchemy.engine import make_url

    from openkyc.api.app import create_app
    from openkyc.privacy.crypto import write_master_key_file

    settings = load_settings(data_dir, host=host, port=port, workers=workers)
    backend = make_url(settings.resolved_database_url).get_backend_name()
    if settings.workers > 1 and backend == "sqlite":
        raise fail(
            f"--workers {settings.workers} refused. {SQLITE_ONE_PROCESS}", "UnsupportedOperation.SQLiteOneProcess"
        )
    if settings.master_key is None and not settings.resolved_master_key_file.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        write_master_key_file(settings.resolved_master_key_file)
    plural = "process" if settings.workers == 1 else "processes"
    bound = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{_url_host(settings.host)}:{settings.port}"
    lines = [
        f"listening on http://{bound}:{settings.port} ({settings.workers} {plural}, {backend})",
        f"  check it:  curl {url}/v1/health",
        "  call it:   sign requests (TC3-HMAC-SHA256) with the SecretId/SecretKey `openkyc init` printed; "
        "see docs/api.md",
    ]
    typer.echo(f"starting on http://{bound}:{settings.port}: migrations, then models (a first start can take a minute)")
    sys.stdout.flush()
    if settings.workers == 1:
        from openkyc.cli.serving import run_one_process

        run_one_process(create_app(settings), settings.host, settings.port, lines)  # the lines once it listens
        return
    for line in lines:  # several processes: the supervisor binds the socket first, calls wait in its queue
        typer.echo(line)
    sys.stdout.flush()
    # Several processes: migrate once here, then each worker process builds Settings() from the
    # environment (the import-string factory), so pass what the command line chose through it.
    _upgrade(settings)
    os.environ["OPENKYC_DATA_DIR"] = str(settings.data_dir.resolve())
    os.environ["OPENKYC_HOST"] = settings.host
    os.environ["OPENKYC_PORT"] = str(settings.port)
    uvicorn.run(
        "openkyc.api.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
    )


@db_cli.command("upgrade")
def db_upgrade(data_dir: Path | None = DataDirOption) -> None:
    """Apply database migrations up to the newest."""
    settings = load_settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _upgrade(settings)


def _upgrade(settings: Settings) -> None:
    """Migrate the data database, handing migrations the key store when the master key is there."""
    from openkyc.store import db
    from openkyc.store.keys import load_master_key
    from openkyc.store.subject_keys import SubjectKeys

    keys = None
    if settings.master_key is not None or settings.resolved_master_key_file.exists():
        keys = SubjectKeys.open(settings.resolved_key_store_url, load_master_key(settings))
    engine = db.make_engine(settings.resolved_database_url)
    try:
        db.upgrade(engine, keys=keys)
    finally:
        engine.dispose()
        if keys is not None:
            keys.close()
    typer.echo("database is up to date")


@apps_cli.command("create")
def apps_create(
    name: str = typer.Option(..., help="App name."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Create an app with its first credential."""
    from openkyc.accounts import service as accounts

    runtime = _runtime(data_dir)
    account_id = _default_account(runtime)
    with cli_errors(), runtime.transaction() as session:
        app = accounts.create_app(session, account_id, name, actor="admin-cli")
        issued = accounts.create_credential(session, runtime.keyring, app.id, actor="admin-cli")
    emit({"app_id": app.id, "name": name, "secret_id": issued.secret_id, "secret_key": issued.secret_key}, as_json)


@apps_cli.command("list")
def apps_list(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """List apps with their request limits (null: the service default)."""
    from sqlalchemy import select

    from openkyc.store.models.accounts import App

    runtime = _runtime(data_dir)
    with runtime.transaction() as session:
        rows = [
            {
                "app_id": a.id,
                "name": a.name,
                "account_id": a.account_id,
                "qps_limit": a.qps_limit,
                "monthly_quota": a.monthly_quota,
            }
            for a in session.scalars(select(App))
        ]
    emit({"apps": rows}, as_json)


def _limit_value(option: str, text: str | None, minimum: int) -> int | accounts.Keep | None:
    """``None`` (option absent): unchanged; ``default``: back to the service default; else a number."""
    from openkyc.accounts import service as accounts

    if text is None:
        return accounts.UNCHANGED
    if text.strip().lower() == "default":
        return None
    if not text.strip().isdigit() or not minimum <= int(text) <= accounts.LIMIT_MAX:
        raise fail(
            f"{option} must be a whole number from {minimum} to {accounts.LIMIT_MAX} or 'default'",
            "InvalidParameterValue",
        )
    return int(text)


@apps_cli.command("limits")
def apps_limits(
    app_id: int = typer.Option(..., help="APPID.", min=ID_MIN, max=ID_MAX),
    qps_limit: str | None = typer.Option(None, help="Requests per second, or 'default'."),
    monthly_quota: str | None = typer.Option(None, help="Billable calls per calendar month, or 'default'."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Show an app's request rate and monthly quota; set them with the options."""
    from openkyc.accounts import service as accounts

    qps = _limit_value("--qps-limit", qps_limit, 1)
    quota = _limit_value("--monthly-quota", monthly_quota, 0)
    runtime = _runtime(data_dir)
    settings = runtime.settings
    with cli_errors(), runtime.transaction() as session:
        app = accounts.set_app_limits(session, app_id, qps_limit=qps, monthly_quota=quota, actor="admin-cli")
        result = {
            "app_id": app.id,
            "qps_limit": app.qps_limit,
            "monthly_quota": app.monthly_quota,
            "effective_qps_limit": app.qps_limit if app.qps_limit is not None else settings.default_qps_limit,
            "effective_monthly_quota": (
                app.monthly_quota if app.monthly_quota is not None else settings.default_monthly_quota
            ),
        }
    emit(result, as_json)


@users_cli.command("create")
def users_create(
    user_name: str = typer.Option(..., help="User name."),
    role: Role = typer.Option(Role.DEVELOPER, help="Role."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a console user (password hashed with argon2id)."""
    from openkyc.accounts import service as accounts

    runtime = _runtime(data_dir)
    account_id = _default_account(runtime)
    with cli_errors(), runtime.transaction() as session:
        user = accounts.create_user(session, account_id, user_name, password, role, actor="admin-cli")
    emit({"user_id": user.id, "user_name": user_name, "role": role.value}, as_json)


@credentials_cli.command("create")
def credentials_create(
    app_id: int = typer.Option(..., help="APPID.", min=ID_MIN, max=ID_MAX),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Issue a new credential for an app (the key is shown only once)."""
    from openkyc.accounts import service as accounts

    runtime = _runtime(data_dir)
    _require_app(runtime, app_id)
    with cli_errors(), runtime.transaction() as session:
        issued = accounts.create_credential(session, runtime.keyring, app_id, actor="admin-cli")
    emit({"app_id": app_id, "secret_id": issued.secret_id, "secret_key": issued.secret_key}, as_json)


@credentials_cli.command("rotate")
def credentials_rotate(
    secret_id: str,
    keep_old: bool = typer.Option(False, help="Leave the old credential active (disable it later)."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Issue a replacement credential; the old one is disabled unless --keep-old."""
    from openkyc.accounts import service as accounts

    runtime = _runtime(data_dir)
    with cli_errors(), runtime.transaction() as session:
        issued = accounts.rotate_credential(session, runtime.keyring, secret_id, keep_old=keep_old, actor="admin-cli")
    emit(
        {
            "app_id": issued.app_id,
            "secret_id": issued.secret_id,
            "secret_key": issued.secret_key,
            "old_secret_id": secret_id,
            "old_disabled": not keep_old,
        },
        as_json,
    )


@credentials_cli.command("disable")
def credentials_disable(secret_id: str, data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """Disable a credential: requests signed with it are refused."""
    from openkyc.accounts import service as accounts

    runtime = _runtime(data_dir)
    with cli_errors(), runtime.transaction() as session:
        accounts.disable_credential(session, secret_id, actor="admin-cli")
    emit({"secret_id": secret_id, "status": "disabled"}, as_json)


@credentials_cli.command("list")
def credentials_list(
    app_id: int = typer.Option(..., help="APPID.", min=ID_MIN, max=ID_MAX),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """List an app's credentials (never their keys)."""
    from openkyc.accounts import service as accounts

    runtime = _runtime(data_dir)
    _require_app(runtime, app_id)
    with runtime.transaction() as session:
        rows = [
            {"secret_id": c.secret_id, "status": c.status, "created_at": c.created_at, "last_used_at": c.last_used_at}
            for c in accounts.list_credentials(session, app_id)
        ]
    emit({"credentials": rows}, as_json)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.add_typer(db_cli, name="db")
    app.add_typer(apps_cli, name="apps")
    app.add_typer(users_cli, name="users")
    app.add_typer(credentials_cli, name="credentials")
    from openkyc.cli.keys import keys_cli  # its commands use this module's helpers

    app.add_typer(keys_cli, name="keys")
