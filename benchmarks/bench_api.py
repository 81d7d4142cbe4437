"""End-to-end HTTP time over raw model time, measured in one run: face compare and selfie verification.

    .venv/bin/python benchmarks/bench_api.py [--data ../shared/data] [--repeat 15]

Starts ``openkyc serve`` on a temporary data directory (SQLite, one model thread), sends signed
``POST /v1/faces/compare`` requests with two real photos, and times the same comparison called on
the face engine directly in this process. Prints one JSON document; the figure to watch is
``ratio_http_over_raw`` (median end-to-end time / median raw model time; target at most 1.15).

Start-up (issue 13): ``startup.ready_s`` is the time from starting ``openkyc serve`` until
``/v1/health/ready`` answers; then, before any other request, each of compare, enrol, search, OCR
and selfie verification (liveness) is sent ten times in turn, and ``startup.<route>.first_ms`` /
``tenth_ms`` / ``first_over_tenth`` show whether the first request after start pays for anything
(target: at most 1.2).
``cli.help_s`` is the wall time of ``openkyc --help`` (median of ``--cli-repeat``, at least 5;
target < 0.3 s); ``cli.compare_s`` that of ``openkyc compare`` on two photos, next to
``cli.compare_model_s``, the same work done by a bare Python process with the engine (imports of
numpy and OpenCV, model load, comparison), and their difference ``cli.compare_overhead_s`` (target
< 0.5 s); each also as CPU time (``*_cpu_s``), the steadier figure on a shared machine. The runs
of the three commands are interleaved, so each sees the same load; ``cli.load_average`` is the
1-minute load average before and after them. ``cli.imports`` comes from ``python -X importtime``:
the modules each command imports (count, total import time) and the slowest top-level ones.

The selfie part sends a 3-second 640x480 MP4 (a real talking-face clip, upscaled) with a reference
photo to ``POST /v1/verifications/selfie`` (liveness, then comparison; target at most 1 s) and
times the same liveness check and comparison called directly.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import cv2
import httpx

from openkyc.accounts.signing import sign_request
from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.templates import TemplateKey
from openkyc.liveness.checker import LivenessChecker

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], dict[str, Any], float]:
    openkyc = str(Path(sys.executable).parent / "openkyc")
    env = {**os.environ, "OPENKYC_LOG_LEVEL": "WARNING", "OPENKYC_MODEL_THREADS": "1"}
    init = subprocess.run(
        [openkyc, "init", "--data-dir", str(data_dir), "--json"], capture_output=True, check=True, env=env
    )
    cred = json.loads(init.stdout)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [openkyc, "serve", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    ready = float("nan")
    for _ in range(3000):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health/ready", timeout=1).status_code == 200:
                ready = time.perf_counter() - started
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, cred, ready


def _run(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one command: on a shared machine the CPU time is the
    steadier figure (the wall time includes waiting for a core)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _imports(argv: list[str]) -> dict[str, Any]:
    """What ``python -X importtime`` says about one command: modules imported, their total import
    time, and the five slowest top-level imports (cumulative)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, check=True)
    rows = []  # (name, own µs, cumulative µs, top level)
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            name = parts[2][1:]  # nesting shows as two more spaces per level
            rows.append((name.strip(), int(parts[0]), int(parts[1]), not name.startswith(" ")))
    top = [r for r in rows if r[3]]
    return {
        "modules": len(rows),
        "total_ms": round(sum(r[1] for r in rows) / 1000, 1),
        "slowest_top_level_ms": {r[0]: round(r[2] / 1000, 1) for r in sorted(top, key=lambda r: -r[2])[:5]},
    }


def cli_times(image_a: Path, image_b: Path, repeat: int = 5) -> dict[str, Any]:
    """``openkyc --help`` and ``openkyc compare`` times, and the compare's model work alone,
    interleaved (median of ``repeat``)."""
    openkyc = str(Path(sys.executable).parent / "openkyc")
    probe = (
        "from openkyc.biometrics.engine import FaceEngine\n"
        "from openkyc.biometrics.templates import TemplateKey\n"
        "e = FaceEngine.default()\n"
        f"e.compare(open({str(image_a)!r}, 'rb').read(), open({str(image_b)!r}, 'rb').read(), "
        "TemplateKey('cli', b'openkyc-cli-public-demo-key-v1'))\n"
    )
    load_before = os.getloadavg()[0]
    helps, compares, models = [], [], []
    for _ in range(max(5, repeat)):
        helps.append(_run([openkyc, "--help"]))
        compares.append(_run([openkyc, "compare", str(image_a), str(image_b), "--json"]))
        models.append(_run([sys.executable, "-c", probe]))
    load_after = os.getloadavg()[0]
    entry = ["-c", "import sys; from openkyc.cli.main import main; sys.argv[0] = 'openkyc'; main()"]

    def med(runs: list[tuple[float, float]], i: int) -> float:
        return round(statistics.median(r[i] for r in runs), 3)

    return {
        "help_s": med(helps, 0),
        "help_cpu_s": med(helps, 1),
        "help_target_s": 0.3,
        "compare_s": med(compares, 0),
        "compare_cpu_s": med(compares, 1),
        "compare_model_s": med(models, 0),
        "compare_model_cpu_s": med(models, 1),
        "compare_overhead_s": round(med(compares, 0) - med(models, 0), 3),
        "compare_overhead_cpu_s": round(med(compares, 1) - med(models, 1), 3),
        "compare_overhead_target_s": 0.5,
        "runs": len(helps),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "imports": {
            "help": _imports([*entry, "--help"]),
            "compare": _imports([*entry, "compare", str(image_a), str(image_b), "--json"]),
            "compare_model": _imports(["-c", probe]),
        },
        "note": "compare_model_*: a Python process that imports the engine, loads the models and compares",
    }


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/<pid>/stat``, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_and_tenth(
    post: Any, photos: dict[str, bytes], document: bytes, selfie: bytes, server_pid: int
) -> dict[str, Any]:
    """Each route ten times in turn, starting right after start-up: the first against the tenth,
    in wall time and in the server's CPU time (which a loaded machine's waits do not inflate)."""
    b = base64.b64encode
    collection = json.loads(post("/v1/collections", json.dumps({"name": "bench"}).encode()))["collection_id"]
    bodies = {
        "compare": ("/v1/faces/compare", {"image_a": b(photos["a"]).decode(), "image_b": b(photos["b"]).decode()}),
        "enrol": (f"/v1/collections/{collection}/subjects", {"image": b(photos["a"]).decode()}),
        "search": (f"/v1/collections/{collection}/search", {"image": b(photos["b"]).decode()}),
        "ocr": ("/v1/documents/ocr", {"image": b(document).decode()}),
        "selfie": ("/v1/verifications/selfie", json.loads(selfie)),
    }
    times: dict[str, list[float]] = {name: [] for name in bodies}
    cpu: dict[str, list[float]] = {name: [] for name in bodies}
    for round_no in range(10):
        for name, (path, payload) in bodies.items():
            if name == "enrol":
                payload = {**payload, "subject_id": f"s{round_no}"}
            start, cpu_start = time.perf_counter(), _cpu_s(server_pid)
            post(path, json.dumps(payload).encode())
            times[name].append((time.perf_counter() - start) * 1000)
            cpu[name].append((_cpu_s(server_pid) - cpu_start) * 1000)
    return {
        name: {
            "first_ms": round(t[0], 1),
            "tenth_ms": round(t[9], 1),
            "median_2_to_10_ms": round(statistics.median(t[1:]), 1),
            "first_over_tenth": round(t[0] / t[9], 3),
            "first_over_median": round(t[0] / statistics.median(t[1:]), 3),
            "server_cpu_first_ms": round(cpu[name][0]),
            "server_cpu_median_2_to_10_ms": round(statistics.median(cpu[name][1:])),
            "server_cpu_first_over_median": round(cpu[name][0] / max(statistics.median(cpu[name][1:]), 1.0), 3),
        }
        for name, t in times.items()
    }


def clip_640x480(path: Path) -> tuple[bytes, bytes]:
    """The clip re-encoded at 640x480 (H.264 MP4, 3 s at 25 fps) and its first frame as JPEG."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(cv2.resize(frame.to_ndarray(format="bgr24"), (640, 480)))
    out = Path(tempfile.mkstemp(suffix=".mp4")[1])
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for image in frames[:75]:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):  # type: ignore[arg-type]
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = out.read_bytes()
    out.unlink()
    return data, cv2.imencode(".jpg", frames[0])[1].tobytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--cli-repeat", type=int, default=5, help="runs of each CLI command (at least 5)")
    parser.add_argument("--only-cli", action="store_true", help="only the CLI figures (no server)")
    parser.add_argument("--only-startup", action="store_true", help="only the start-up figures")
    args = parser.parse_args()
    ids = args.data / "facerec-examples" / "identities"
    if args.only_cli:
        cli = cli_times(ids / "obama" / "obama.jpg", ids / "obama" / "obama2.jpg", args.cli_repeat)
        sys.stdout.write(json.dumps({"benchmark": "cli", "cli": cli}, indent=2) + "\n")
        return
    image_a = (ids / "obama" / "obama.jpg").read_bytes()
    image_b = (ids / "obama" / "obama2.jpg").read_bytes()
    body = json.dumps(
        {"image_a": base64.b64encode(image_a).decode(), "image_b": base64.b64encode(image_b).decode()}
    ).encode()

    engine = FaceEngine.default(num_threads=1)
    key = TemplateKey("bench", b"bench-key-0123456789abcdef")
    engine.compare(image_a, image_b, key)  # warm-up
    video, reference = clip_640x480(args.data / "grid-talking-face-videos" / "bbaf2n.mpg")
    checker = LivenessChecker(engine.detector, embedder=engine.embedder)
    selfie_body = json.dumps(
        {"video": base64.b64encode(video).decode(), "image": base64.b64encode(reference).decode()}
    ).encode()

    def raw_selfie() -> None:
        result = checker.check(video, mode="silent")
        assert result.best_frame is not None
        engine.compare(reference, result.best_frame, key)

    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc, cred, ready_s = _serve(Path(tmp), port)
        try:
            with httpx.Client(timeout=60) as client:

                def post(path: str, payload: bytes) -> str:
                    headers = sign_request(
                        cred["secret_id"],
                        cred["secret_key"],
                        method="POST",
                        path=path,
                        host=f"127.0.0.1:{port}",
                        body=payload,
                        timestamp=int(time.time()),
                        extra_signed_headers={"X-TC-Nonce": os.urandom(8).hex()},
                    )
                    response = client.post(f"http://127.0.0.1:{port}{path}", content=payload, headers=headers)
                    response.raise_for_status()
                    return response.text

                def call() -> None:
                    post("/v1/faces/compare", body)

                document = (args.data / "mrz-specimens" / "td3.jpg").read_bytes()
                startup = {
                    "ready_s": round(ready_s, 2),
                    "load_average": round(os.getloadavg()[0], 2),
                    **first_and_tenth(post, {"a": image_a, "b": image_b}, document, selfie_body, proc.pid),
                    "target_first_over_tenth": 1.2,
                }
                if args.only_startup:
                    sys.stdout.write(json.dumps({"benchmark": "startup", "startup": startup}, indent=2) + "\n")
                    return
                call()
                http_ms, raw_ms = [], []
                for _ in range(args.repeat):  # interleaved, so both see the same machine load
                    start = time.perf_counter()
                    call()
                    http_ms.append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    engine.compare(image_a, image_b, key)
                    raw_ms.append((time.perf_counter() - start) * 1000)
                raw_selfie()  # warm-up of the direct call (the server's ran in first_and_tenth)
                selfie_http, selfie_raw = [], []
                for _ in range(max(3, args.repeat // 3)):
                    start = time.perf_counter()
                    post("/v1/verifications/selfie", selfie_body)
                    selfie_http.append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    raw_selfie()
                    selfie_raw.append((time.perf_counter() - start) * 1000)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    cli = cli_times(ids / "obama" / "obama.jpg", ids / "obama" / "obama2.jpg", args.cli_repeat)
    result = {
        "benchmark": "http_compare_over_raw",
        "startup": startup,
        "cli": cli,
        "repeat": args.repeat,
        "request_bytes": len(body),
        "http_ms_median": round(statistics.median(http_ms), 2),
        "raw_ms_median": round(statistics.median(raw_ms), 2),
        "ratio_http_over_raw": round(statistics.median(http_ms) / statistics.median(raw_ms), 3),
        "target_ratio": 1.15,
        "selfie_video": "3 s, 640x480, 25 fps, H.264",
        "selfie_http_ms_median": round(statistics.median(selfie_http), 1),
        "selfie_raw_ms_median": round(statistics.median(selfie_raw), 1),
        "selfie_ratio_http_over_raw": round(statistics.median(selfie_http) / statistics.median(selfie_raw), 3),
        "selfie_target_ms": 1000,
    }
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
