from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from openkyc.cli.common import ErrorReportingGroup
from openkyc.cli.liveness import register


def _app() -> typer.Typer:
    app = typer.Typer(cls=ErrorReportingGroup)  # the root command's error format
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app


def test_image_instead_of_video_exits_non_zero(shared_data: Path) -> None:
    result = CliRunner().invoke(_app(), ["liveness", str(shared_data / "antispoof-samples" / "image_T1.jpg"), "--json"])
    assert result.exit_code == 2 and result.stderr == ""
    assert json.loads(result.stdout)["Error"]["Code"] == "InvalidParameterValue.VideoIsImage"


def test_bad_mode_and_actions(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    bad_mode = CliRunner().invoke(_app(), ["liveness", str(video), "--mode", "dance"])
    assert bad_mode.exit_code == 2 and "InvalidParameterValue.LivenessMode" in bad_mode.stderr
    bad_action = CliRunner().invoke(_app(), ["liveness", str(video), "--mode", "action", "--actions", "wink"])
    assert bad_action.exit_code == 2 and "InvalidParameterValue.LivenessActions" in bad_action.stderr


def test_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["liveness", str(tmp_path / "nope.mp4")])
    assert result.exit_code == 2 and result.stderr.startswith("error: InvalidParameterValue.FileNotFound:")


@pytest.mark.slow
def test_json_with_base64_best_frame(shared_data: Path) -> None:
    clip = shared_data / "grid-talking-face-videos" / "sbia1a.mpg"
    result = CliRunner().invoke(_app(), ["liveness", str(clip), "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["live"], doc["code"]) == (True, "Success")
    assert base64.b64decode(doc["best_frame"]).startswith(b"\xff\xd8")
    assert len(doc["best_frame_box"]) == 4


@pytest.mark.slow
def test_action_mode_and_best_frame_file(shared_data: Path, tmp_path: Path) -> None:
    clip = shared_data / "grid-talking-face-videos" / "bbaf2n.mpg"
    out = tmp_path / "best.jpg"
    result = CliRunner().invoke(
        _app(), ["liveness", str(clip), "--mode", "action", "--actions", "mouth", "--best-frame", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert "code: Success" in result.stdout
    assert out.read_bytes().startswith(b"\xff\xd8")


def _blink_schedule(prompt_ms: int, action: str = "blink") -> dict[str, object]:
    window = {"prompt_ms": prompt_ms, "window_start_ms": prompt_ms + 150, "window_end_ms": prompt_ms + 1650}
    return {"actions": [{"action": action, **window}], "colors": None, "record_ms": 5600}


@pytest.mark.slow
def test_challenge_file(shared_data: Path, tmp_path: Path) -> None:
    clip = shared_data / "live-faces-varied" / "repeating__Blink-Detector__video.mp4"
    answered = tmp_path / "challenge.json"  # a whole challenge answer: its schedule is used
    answered.write_text(json.dumps({"challenge_id": "x", "schedule": _blink_schedule(1250)}))
    ok = CliRunner().invoke(_app(), ["liveness", str(clip), "--challenge", str(answered), "--json"])
    assert ok.exit_code == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert (doc["live"], doc["code"], doc["mode"]) == (True, "Success", "challenge")
    other = tmp_path / "other.json"  # nobody nods in this clip
    other.write_text(json.dumps(_blink_schedule(1950, "nod")))
    refused = CliRunner().invoke(_app(), ["liveness", str(clip), "--challenge", str(other), "--json"])
    assert refused.exit_code == 0 and json.loads(refused.stdout)["code"] == "FailedOperation.ActionNodHead"


def test_challenge_file_errors(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    for content in ("not json", "[1, 2]", json.dumps({"actions": "nod", "record_ms": 1})):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        result = CliRunner().invoke(_app(), ["liveness", str(video), "--challenge", str(bad)])
        assert result.exit_code == 2 and "InvalidParameterValue.LivenessChallenge" in result.stderr, content
    mixed = CliRunner().invoke(_app(), ["liveness", str(video), "--challenge", str(bad), "--mode", "action"])
    assert mixed.exit_code == 2 and "InvalidParameterValue.LivenessMode" in mixed.stderr
