"""Helpers shared by CLI commands: settings, JSON output, and the one error format.

Every command answers an error the same way, whatever raised it (a bad option, a missing app, an
OpenKYC error, a library failure):

* on stderr, one line ``error: Code: message``; with ``--json``, instead, the API's envelope
  ``{"Error": {"Code": ..., "Message": ...}, "RequestId": null}`` on stdout and nothing else;
* exit status 2 for a usage error (the command line cannot be carried out as written: unknown
  command or option, a missing or malformed value, options that do not go together: codes
  ``InvalidParameter*``, ``MissingParameter``, ``UnsupportedOperation*``), 1 for an operation that
  failed (``ResourceNotFound.*``, ``FailedOperation.*``, ``InternalError*``).

:class:`ErrorReportingGroup` (the root command's class) does the rendering; commands raise
:func:`fail` or let an :class:`~openkyc.errors.OpenKYCError` through. No traceback is printed: an
unexpected exception is reported as ``InternalError`` with its class name (the traceback goes to
the ``openkyc.cli`` logger at DEBUG level, never to the terminal by default).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperGroup

try:  # typer >= 0.20 runs on its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

from openkyc.errors import InvalidParameter, MissingParameter, OpenKYCError

if TYPE_CHECKING:  # pydantic-settings and rich are loaded only by a command that uses them
    from rich.console import Console

    from openkyc.settings import Settings

DataDirOption = typer.Option(
    None, "--data-dir", "-d", help="Data directory (default: OPENKYC_DATA_DIR or ./openkyc-data)."
)
JsonOption = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else.")


@functools.cache
def stderr_console() -> Console:
    """The rich console on stderr (progress bars), built on first use: rich is not imported by a
    command that prints none."""
    from rich.console import Console

    return Console(stderr=True)


def __getattr__(name: str) -> Any:  # ``from openkyc.cli.common import err_console`` still works
    if name == "err_console":
        return stderr_console()
    raise AttributeError(name)


log = logging.getLogger("openkyc.cli")

USAGE_EXIT = 2
ID_MIN, ID_MAX = -(2**63), 2**63 - 1
"""Bounds of an id option (``--app-id``, ``--account-id``): what a 64-bit column can hold (a larger
number reached the database driver and failed with OverflowError)."""
FAILED_EXIT = 1
_USAGE_CODES = ("InvalidParameter", "MissingParameter", "UnsupportedOperation")
_JSON_META = "openkyc.json"


def load_settings(data_dir: Path | None, **overrides: Any) -> Settings:
    """The settings from the environment and ``overrides``; a value a setting refuses is a usage
    error naming the variable (``InvalidParameterValue.Setting``, exit 2), never an ``InternalError``."""
    from pydantic import ValidationError

    from openkyc.settings import Settings

    values = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise fail(settings_problems(exc), "InvalidParameterValue.Setting") from None


def settings_problems(exc: Any) -> str:
    """One line per refused setting, ``OPENKYC_NAME: why``, from pydantic's errors, without
    pydantic's copy of the refused value (a setting may be a secret; the validators' own messages
    quote a value only for settings that are not)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        name = "OPENKYC_" + "_".join(str(part) for part in error["loc"]).upper() if error["loc"] else "settings"
        lines.append(f"{name}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(lines)


def emit(payload: Any, as_json: bool, human: Callable[[Any], None] | None = None) -> None:
    """Print ``payload`` as one JSON document, or through ``human`` for a person."""
    if as_json or human is None:
        sys.stdout.write(json.dumps(payload, indent=None if as_json else 2, default=str) + "\n")
    else:
        human(payload)


def exit_code_for(code: str) -> int:
    """2 for a usage error, 1 for a failed operation (see the module docstring)."""
    return USAGE_EXIT if code.startswith(_USAGE_CODES) else FAILED_EXIT


class CommandError(Exception):
    """A command's error, rendered by :class:`ErrorReportingGroup`."""

    def __init__(self, code: str, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code if exit_code is not None else exit_code_for(code)


def fail(message: str, code: str = "InvalidParameter", exit_code: int | None = None) -> CommandError:
    """The error to ``raise``; the exit status follows from ``code`` unless given."""
    return CommandError(code, message, exit_code)


def from_openkyc(exc: OpenKYCError) -> CommandError:
    usage = isinstance(exc, InvalidParameter | MissingParameter)
    return CommandError(exc.error_code, exc.message, USAGE_EXIT if usage else FAILED_EXIT)


@contextmanager
def cli_errors() -> Iterator[None]:
    """OpenKYC errors become command errors (also done by the root group; kept for clarity)."""
    try:
        yield
    except OpenKYCError as exc:
        raise from_openkyc(exc) from exc


def read_input(path: Path, what: str = "file") -> bytes:
    """The bytes of an input file; a missing or unreadable one is a usage error (not a decode error)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise fail(f"cannot read {what} {path.name}: {reason}", "InvalidParameterValue.FileNotFound") from exc


def _usage_code(exc: Exception) -> str:
    if isinstance(exc, click_errors.MissingParameter):
        return "MissingParameter"
    if isinstance(exc, click_errors.BadParameter):
        return "InvalidParameterValue"
    return "InvalidParameter"


def report(error: CommandError, as_json: bool) -> NoReturn:
    """Prints ``error`` in the one format and exits with its status."""
    if as_json:
        body = {"Error": {"Code": error.code, "Message": error.message}, "RequestId": None}
        sys.stdout.write(json.dumps(body) + "\n")
        sys.stdout.flush()
    else:
        sys.stderr.write(f"error: {error.code}: {error.message}\n")
        sys.stderr.flush()
    raise typer.Exit(error.exit_code)


class ErrorReportingGroup(TyperGroup):
    """The root command: renders every error of every sub-command in the one format."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_JSON_META] = "--json" in args
        result: list[str] = super().parse_args(ctx, args)
        return result

    def invoke(self, ctx: Any) -> Any:
        as_json = bool(ctx.meta.get(_JSON_META))
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except click_errors.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            report(CommandError(_usage_code(exc), exc.format_message() + hint, USAGE_EXIT), as_json)
        except click_errors.ClickException as exc:
            report(CommandError("InvalidParameter", exc.format_message(), USAGE_EXIT), as_json)
        except CommandError as exc:
            report(exc, as_json)
        except OpenKYCError as exc:
            report(from_openkyc(exc), as_json)
        except Exception as exc:
            log.debug("command failed", exc_info=exc)
            message = f"the operation did not complete (unexpected {type(exc).__name__})"
            report(CommandError("InternalError", message, FAILED_EXIT), as_json)
