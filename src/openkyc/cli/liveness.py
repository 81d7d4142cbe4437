"""``openkyc liveness VIDEO``: silent, action or challenge liveness on a video file."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from openkyc.cli.common import cli_errors, emit, fail, read_input


def liveness(
    video: Annotated[Path, typer.Argument(help="MP4, WebM, AVI or MPEG video (at most 8 MB, 20 s).")],
    mode: Annotated[str, typer.Option("--mode", help="silent or action (--challenge selects challenge).")] = "silent",
    actions: Annotated[
        str | None, typer.Option("--actions", help="Action mode: one or two of blink,mouth,nod,shake.")
    ] = None,
    challenge: Annotated[
        Path | None,
        typer.Option(
            "--challenge", help="A challenge schedule (JSON, the `schedule` of a challenge) to check against."
        ),
    ] = None,
    best_frame: Annotated[
        Path | None, typer.Option("--best-frame", help="Write the best frame (JPEG) to this path.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")
    ] = False,
) -> None:
    """Check that VIDEO shows a live person: prints live, score, code and the best frame."""
    from openkyc.biometrics.detection import default_detector
    from openkyc.liveness import LivenessChecker, parse_actions
    from openkyc.liveness.challenge import Schedule

    if mode not in ("silent", "action"):
        raise fail("--mode must be silent or action", "InvalidParameterValue.LivenessMode")
    if actions is not None and mode != "action":
        raise fail("--actions is used only with --mode action", "InvalidParameterValue.LivenessActions")
    if challenge is not None and (mode != "silent" or actions is not None):
        raise fail("--challenge is used without --mode and --actions", "InvalidParameterValue.LivenessMode")
    data = read_input(video, "video")
    with cli_errors():
        schedule = None
        if challenge is not None:
            schedule = Schedule.from_dict(_schedule_json(read_input(challenge, "challenge")))
        wanted = parse_actions(actions) if mode == "action" else None
        checker = LivenessChecker(default_detector())
        if schedule is not None:
            result = checker.check(data, mode="challenge", schedule=schedule)
        else:
            result = checker.check(data, mode="action" if mode == "action" else "silent", actions=wanted)
        if best_frame is not None and result.best_frame is not None:
            best_frame.write_bytes(result.best_frame)
    document: dict[str, Any] = result.to_dict()
    if best_frame is not None:
        document["best_frame"] = str(best_frame) if result.best_frame else None
    elif as_json:
        document["best_frame"] = base64.b64encode(result.best_frame).decode("ascii") if result.best_frame else None

    def human(doc: dict[str, Any]) -> None:
        sys.stdout.write(f"live: {doc['live']}\nscore: {doc['score']}\ncode: {doc['code']}\n")
        if best_frame is not None and doc.get("best_frame"):
            sys.stdout.write(f"best frame: {doc['best_frame']}\n")

    emit(document, as_json, human)


def _schedule_json(raw: bytes) -> dict[str, Any]:
    """The schedule from a file: the ``schedule`` object itself or a whole challenge answer."""
    import json

    from openkyc.errors import InvalidParameterValue

    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidParameterValue(
            "The challenge file is not JSON.", code="InvalidParameterValue.LivenessChallenge"
        ) from exc
    if isinstance(document, dict) and isinstance(document.get("schedule"), dict):
        document = document["schedule"]
    if not isinstance(document, dict):
        raise InvalidParameterValue(
            "The challenge file holds no schedule.", code="InvalidParameterValue.LivenessChallenge"
        )
    return document


def register(app: typer.Typer) -> None:
    """Add the ``liveness`` command to ``app``."""
    app.command("liveness")(liveness)
