"""CLI commands of the face engine: detect, compare, evaluate, models.

``compare`` and ``evaluate`` make templates under the fixed, public CLI key ``CLI_KEY`` (key id
``cli``): fine for local checks, never for stored templates (the service uses each app's secret).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from openkyc.cli.common import fail, read_input

CLI_KEY_ID = "cli"
CLI_KEY_SECRET = b"openkyc-cli-public-demo-key-v1"  # public by design: CLI comparisons only

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _engine() -> Any:
    from openkyc.biometrics.engine import FaceEngine

    return FaceEngine.default()


def _cli_key() -> Any:
    from openkyc.biometrics.templates import TemplateKey

    return TemplateKey(CLI_KEY_ID, CLI_KEY_SECRET)


def _emit(document: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(document) + "\n")
    else:
        for line in lines:
            typer.echo(line)


def detect(image: Path, as_json: JsonOpt = False) -> None:
    """Faces in IMAGE: box [x, y, w, h], 5 keypoints, detection score, quality."""
    data = read_input(image, "image")
    result = _engine().detect(data).as_dict()  # an OpenKYCError is reported by the root command
    lines = [f"{result['face_count']} face(s) in {result['width']}x{result['height']}"]
    for face in result["faces"]:
        issues = ", ".join(face["quality"]["issues"]) or "ok"
        lines.append(f"  box={face['box']} score={face['score']} quality={issues}")
    _emit(result, as_json, lines)


def compare(image_a: Path, image_b: Path, as_json: JsonOpt = False) -> None:
    """sim (0-100), match and threshold for the largest face of each image (CLI key)."""
    a, b = read_input(image_a, "image"), read_input(image_b, "image")
    result = _engine().compare(a, b, _cli_key()).as_dict()
    result["key_id"] = CLI_KEY_ID
    verdict = "match" if result["match"] else "no match"
    _emit(result, as_json, [f"sim={result['sim']} threshold={result['threshold']} {verdict}"])


def evaluate(
    pairs_csv: Path,
    as_json: JsonOpt = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write ROC/DET curves with the sim 70/80 operating points as PNG.")
    ] = None,
    keys: Annotated[
        int, typer.Option("--keys", min=0, max=1000, help="Also measure under N random template keys (spread).")
    ] = 0,
) -> None:
    """AUC, EER, TAR at FMR 1e-2/1e-3/1e-4, FMR and FNMR at the threshold (counts), failures to enrol;
    with --keys N the false matches at sim 70/80 under N random keys (mean, max, per key)."""
    from openkyc.biometrics import evaluation

    try:
        pairs = evaluation.read_pairs(pairs_csv)
    except (OSError, KeyError, ValueError) as exc:
        raise fail(
            f"cannot read pairs file {pairs_csv.name}: need columns image_a,image_b,same_person",
            "InvalidParameterValue.PairsFile",
        ) from exc
    engine = _engine()
    random_keys = evaluation.random_keys(keys) if keys else None
    images = len({p.image_a for p in pairs} | {p.image_b for p in pairs})
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("embedding", total=images)
            report = evaluation.evaluate(engine, pairs, _cli_key(), lambda: bar.advance(task), keys=random_keys)
    else:
        report = evaluation.evaluate(engine, pairs, _cli_key(), keys=random_keys)
    if plot is not None:
        evaluation.plot(report, plot)
    result = report.as_dict()
    lines = [f"pairs={result['pairs']} scored={result['scored_pairs']} fte={result['failures_to_enrol']}"]
    form = result["template_format"]
    lines.append(f"templates: {form['bits']} bits, version {form['version']}")
    for kind in ("cosine", "template"):
        m = result[kind]
        lines.append(
            f"{kind}: auc={m.get('auc')} eer={m.get('eer')} best_acc={m.get('best_accuracy')} "
            f"tar@fmr={m.get('tar_at_fmr')}"
        )
    lines.append(f"accuracy at sim>={result['threshold']}: {result['accuracy_at_threshold']}")
    fm, fnm = result["fmr_at_threshold"], result["fnmr_at_threshold"]
    lines.append(
        f"at sim>={result['threshold']}: FMR={fm['rate']} ({fm['false_matches']} of {fm['impostor_pairs']}) "
        f"FNMR={fnm['rate']} ({fnm['false_non_matches']} of {fnm['genuine_pairs']})"
    )
    for sim, spread in (result.get("keys") or {}).items():
        if isinstance(spread, dict):
            lines.append(
                f"{result['keys']['keys']} keys, sim>={sim}: FMR mean={spread['fmr_mean']:.2e} "
                f"max={spread['fmr_max']:.2e} false matches per key={spread['false_matches_per_key']} "
                f"false non-matches max={max(spread['false_non_matches_per_key'])}"
            )
    _emit(result, as_json, lines)


def models(as_json: JsonOpt = False) -> None:
    """The model registry: file, sha256, licence, commercial use, and whether the file checks out."""
    from openkyc.biometrics.registry import MODELS, sha256_file

    rows = []
    for info in MODELS:
        path = info.path()
        present = path.is_file()
        rows.append(
            {
                "name": info.name,
                "role": info.role,
                "package": info.package,
                "file": str(path),
                "sha256": info.sha256,
                "licence": info.licence,
                "commercial_use": info.commercial_use,
                "verified": present and sha256_file(path) == info.sha256,
                "note": info.note,
            }
        )
    lines = [
        f"{r['name']!s:12} {str(r['licence'])[:40]:40} commercial={r['commercial_use']} verified={r['verified']}"
        for r in rows
    ]
    _emit({"models": rows}, as_json, lines)


def register(app: typer.Typer) -> None:
    """Add the face commands to the ``openkyc`` CLI."""
    app.command("detect")(detect)
    app.command("compare")(compare)
    app.command("evaluate")(evaluate)
    app.command("models")(models)
