"""One error format for every CLI command: ``error: Code: message``, exit 2 (usage) or 1 (failed
operation), and with ``--json`` the API's envelope on stdout and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from openkyc.cli.main import build

ERROR_LINE = re.compile(r"^error: [A-Z][A-Za-z]+(\.[A-Za-z0-9]+)*: \S.*\n$")


def _leaf_commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    subcommands = getattr(group, "commands", None)
    if isinstance(subcommands, dict):
        return [leaf for name, sub in subcommands.items() for leaf in _leaf_commands(sub, (*prefix, name))]
    return [prefix]


COMMANDS = sorted(_leaf_commands(get_command(build())))


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("DATABASE_URL", "MASTER_KEY", "REDIS_URL", "WORKERS"):
        monkeypatch.delenv(f"OPENKYC_{name}", raising=False)
    runner = CliRunner()
    app = build()
    return lambda *args: runner.invoke(app, list(args))


def assert_error(result: Any, code: str, exit_code: int) -> None:
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    assert ERROR_LINE.match(result.stderr), result.stderr
    assert result.stderr.startswith(f"error: {code}:"), result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def assert_json_error(result: Any, code: str, exit_code: int) -> None:
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    body = json.loads(result.stdout)  # one JSON document, nothing else
    assert set(body) == {"Error", "RequestId"} and body["Error"]["Code"] == code and body["Error"]["Message"]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unknown_option_is_a_usage_error_everywhere(cli: Any, command: tuple[str, ...]) -> None:
    assert_error(cli(*command, "--no-such-option"), "InvalidParameter", 2)


def test_unknown_command_missing_option_and_bad_value(cli: Any, tmp_path: Path) -> None:
    assert_error(cli("keys", "rotate-templat"), "InvalidParameter", 2)
    assert_error(cli("keys", "rotate-template", "--data-dir", str(tmp_path)), "MissingParameter", 2)
    assert_error(cli("keys", "rotate-template", "--app-id", "abc"), "InvalidParameterValue", 2)
    assert_json_error(cli("keys", "rotate-template", "--app-id", "abc", "--json"), "InvalidParameterValue", 2)


APP_COMMANDS = [
    ("keys", "rotate-template"),
    ("credentials", "create"),
    ("credentials", "list"),
    ("apps", "limits"),
    ("webhooks", "secret"),
]


@pytest.mark.parametrize("command", APP_COMMANDS, ids=" ".join)
def test_a_missing_app_is_a_failed_operation(cli: Any, tmp_path: Path, command: tuple[str, ...]) -> None:
    assert cli("init", "--data-dir", str(tmp_path), "--json").exit_code == 0
    args = (*command, "--app-id", "42", "--data-dir", str(tmp_path))
    assert_error(cli(*args), "ResourceNotFound.App", 1)
    assert_json_error(cli(*args, "--json"), "ResourceNotFound.App", 1)


@pytest.mark.parametrize(
    "args",
    [
        ("detect", "nope.jpg"),
        ("compare", "nope.jpg", "nope2.jpg"),
        ("liveness", "nope.mp4"),
        ("ocr", "nope.jpg"),
        ("evaluate", "nope.csv"),
    ],
    ids=lambda a: a[0],
)
def test_a_missing_input_file_is_a_usage_error(cli: Any, tmp_path: Path, args: tuple[str, ...]) -> None:
    paths = [str(tmp_path / a) if "." in a else a for a in args]
    code = "InvalidParameterValue.PairsFile" if args[0] == "evaluate" else "InvalidParameterValue.FileNotFound"
    assert_error(cli(*paths), code, 2)
    assert_json_error(cli(*paths, "--json"), code, 2)


def test_actions_without_action_mode_are_refused(cli: Any, tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    assert_error(cli("liveness", str(video), "--actions", "blink"), "InvalidParameterValue.LivenessActions", 2)


def test_not_initialised_is_a_failed_operation(cli: Any, tmp_path: Path) -> None:
    assert_error(cli("apps", "list", "--data-dir", str(tmp_path / "empty")), "FailedOperation.NotInitialised", 1)


def test_an_unexpected_exception_is_an_internal_error_without_traceback(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openkyc.store import keys

    assert cli("init", "--data-dir", str(tmp_path), "--json").exit_code == 0

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database exploded at row 7")

    monkeypatch.setattr(keys, "create_data_key", broken)  # the command imports it when it runs
    result = cli("keys", "rotate-data", "--data-dir", str(tmp_path))
    assert_error(result, "InternalError", 1)
    assert "exploded" not in result.stderr  # the message of a foreign exception may hold anything
