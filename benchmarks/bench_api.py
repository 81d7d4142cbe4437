"""End-to-end HTTP time over raw model time, measured in one run.

    .venv/bin/python benchmarks/bench_api.py [--data ../shared/data] [--repeat 15]

Starts ``openkyc serve`` on a temporary data directory (SQLite, one model thread), sends signed
``POST /v1/faces/compare`` requests with two real photos, and times the same comparison called on
the face engine directly in this process. Prints one JSON document; the figure to watch is
``ratio_http_over_raw`` (median end-to-end time / median raw model time; target at most 1.15).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from openkyc.accounts.signing import sign_request
from openkyc.biometrics.engine import FaceEngine
from openkyc.biometrics.templates import TemplateKey

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    openkyc = str(Path(sys.executable).parent / "openkyc")
    env = {**os.environ, "OPENKYC_LOG_LEVEL": "WARNING", "OPENKYC_MODEL_THREADS": "1"}
    init = subprocess.run(
        [openkyc, "init", "--data-dir", str(data_dir), "--json"], capture_output=True, check=True, env=env
    )
    cred = json.loads(init.stdout)
    proc = subprocess.Popen(
        [openkyc, "serve", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, cred


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    ids = args.data / "facerec-examples" / "identities"
    image_a = (ids / "obama" / "obama.jpg").read_bytes()
    image_b = (ids / "obama" / "obama2.jpg").read_bytes()
    body = json.dumps(
        {"image_a": base64.b64encode(image_a).decode(), "image_b": base64.b64encode(image_b).decode()}
    ).encode()

    engine = FaceEngine.default(num_threads=1)
    key = TemplateKey("bench", b"bench-key-0123456789abcdef")
    engine.compare(image_a, image_b, key)  # warm-up

    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc, cred = _serve(Path(tmp), port)
        try:
            url = f"http://127.0.0.1:{port}/v1/faces/compare"
            with httpx.Client(timeout=60) as client:

                def call() -> None:
                    headers = sign_request(
                        cred["secret_id"],
                        cred["secret_key"],
                        method="POST",
                        path="/v1/faces/compare",
                        host=f"127.0.0.1:{port}",
                        body=body,
                        timestamp=int(time.time()),
                        extra_signed_headers={"X-TC-Nonce": os.urandom(8).hex()},
                    )
                    response = client.post(url, content=body, headers=headers)
                    response.raise_for_status()

                call()  # warm-up (loads the models in the server)
                http_ms, raw_ms = [], []
                for _ in range(args.repeat):  # interleaved, so both see the same machine load
                    start = time.perf_counter()
                    call()
                    http_ms.append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    engine.compare(image_a, image_b, key)
                    raw_ms.append((time.perf_counter() - start) * 1000)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    result = {
        "benchmark": "http_compare_over_raw",
        "repeat": args.repeat,
        "request_bytes": len(body),
        "http_ms_median": round(statistics.median(http_ms), 2),
        "raw_ms_median": round(statistics.median(raw_ms), 2),
        "ratio_http_over_raw": round(statistics.median(http_ms) / statistics.median(raw_ms), 3),
        "target_ratio": 1.15,
    }
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
