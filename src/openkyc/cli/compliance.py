"""Subject-rights commands for the customer's own people and accounts.

``openkyc users export`` / ``users erase`` (a console user: GDPR access and erasure for staff) and
``openkyc accounts erase`` (offboarding: an account and all its apps' data, one receipt). End
users' rights are exercised through the API (``/v1/privacy/subjects/...``), signed by the app.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from openkyc.cli.admin import users_cli
from openkyc.cli.common import ID_MAX, ID_MIN, DataDirOption, JsonOption, cli_errors, emit, fail, load_settings

if TYPE_CHECKING:  # imported by the commands when they run
    from openkyc.privacy.reach import StaffUser
    from openkyc.runtime import Runtime

accounts_cli = typer.Typer(help="Accounts: offboarding (erase an account and all its apps).", no_args_is_help=True)
ACTOR = "admin-cli"


def _runtime(data_dir: Path | None) -> Runtime:
    from openkyc.runtime import Runtime

    settings = load_settings(data_dir)
    if settings.master_key is None and not settings.resolved_master_key_file.exists():
        raise fail("no master key found: run `openkyc init` first", "FailedOperation.NotInitialised")
    return Runtime.open(settings)


def _staff(runtime: Runtime, user_name: str, account_id: int | None) -> StaffUser:
    from sqlalchemy import select

    from openkyc.privacy.reach import StaffUser
    from openkyc.store.models.accounts import User

    with runtime.transaction() as session:
        query = select(User.account_id, User.id).where(User.user_name == user_name)
        if account_id is not None:
            query = query.where(User.account_id == account_id)
        found = session.execute(query.order_by(User.account_id)).all()
    if not found:
        raise fail("no such user", "ResourceNotFound.User")
    if len(found) > 1:
        raise fail("several accounts have a user of that name: pass --account-id", "InvalidParameterValue.User")
    return StaffUser(int(found[0][0]), int(found[0][1]))


UserName = typer.Option(..., "--user-name", help="The console user's name.")
AccountOption = typer.Option(
    None, "--account-id", help="The user's account (needed when names repeat).", min=ID_MIN, max=ID_MAX
)


@users_cli.command("export")
def users_export(
    user_name: str = UserName,
    account_id: int | None = AccountOption,
    zip_path: Path | None = typer.Option(None, "--zip", help="Also write the ZIP archive (manifest, summary) here."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Everything held about a console user (GDPR access), audited."""
    from openkyc.compliance.archive import build_archive
    from openkyc.compliance.rights import SubjectRights

    runtime = _runtime(data_dir)
    try:
        with cli_errors():
            target = _staff(runtime, user_name, account_id)
            result = SubjectRights(runtime.access, ACTOR, runtime.face_index).export(target)
    finally:
        runtime.close()
    if zip_path is not None:
        zip_path.write_bytes(build_archive(result))
    payload = result.export.model_dump(mode="json")

    def human(p: dict[str, Any]) -> None:
        for item in p["items"]:
            typer.echo(f"{item['kind']}: {item['table']}.{item['column']} = {item['value']}")
        if zip_path is not None:
            typer.echo(f"archive written to {zip_path}")

    emit(payload, as_json, human)


@users_cli.command("erase")
def users_erase(
    user_name: str = UserName,
    account_id: int | None = AccountOption,
    yes: bool = typer.Option(False, "--yes", help="Confirm: the user is deleted for good."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Erase a console user (GDPR erasure); the audit log keeps only the user's pseudonym."""
    from openkyc.compliance.rights import SubjectRights

    if not yes:
        raise fail("erasure cannot be undone: pass --yes", "InvalidParameterValue.Confirm")
    runtime = _runtime(data_dir)
    try:
        with cli_errors():
            target = _staff(runtime, user_name, account_id)
            receipt = SubjectRights(runtime.access, ACTOR, runtime.face_index).erase(target)
    finally:
        runtime.close()
    emit(receipt.model_dump(mode="json"), as_json)


@accounts_cli.command("erase")
def accounts_erase(
    account_id: int = typer.Argument(..., help="The account id (UIN).", min=ID_MIN, max=ID_MAX),
    yes: bool = typer.Option(False, "--yes", help="Confirm: the account and all its apps' data are deleted."),
    data_dir: Path | None = DataDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Offboarding: erase an account, its users and all its apps' data, with one receipt."""
    from openkyc.compliance.rights import SubjectRights

    if not yes:
        raise fail("offboarding cannot be undone: pass --yes", "InvalidParameterValue.Confirm")
    runtime = _runtime(data_dir)
    try:
        with cli_errors():
            done = SubjectRights(runtime.access, ACTOR, runtime.face_index).erase_account(account_id)
    finally:
        runtime.close()
    emit({**done.receipt.model_dump(mode="json"), "app_ids": list(done.app_ids)}, as_json)


@accounts_cli.command("list")
def accounts_list(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """The accounts, with their ids (for ``accounts erase``)."""
    from sqlalchemy import select

    from openkyc.store.models.accounts import Account

    runtime = _runtime(data_dir)
    try:
        with runtime.transaction() as session:
            rows = session.execute(select(Account.id, Account.name).order_by(Account.created_at)).all()
    finally:
        runtime.close()
    emit({"accounts": [{"account_id": r[0], "name": r[1]} for r in rows]}, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_cli, name="accounts")
