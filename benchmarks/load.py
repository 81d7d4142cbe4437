"""Load benchmark: a real server under a mixed workload at 1, 2, 4, 8 and 16 concurrent clients.

    .venv/bin/python benchmarks/load.py [--requests 40] [--clients 1,2,4,8,16] [--level-seconds 120]
        [--postgres postgresql://postgres@127.0.0.1:5432/test [--workers 2] [--job-worker --redis-url URL]]
        [--no-sqlite]

Loopback only; bounded in count (``--requests`` per level) and time (``--level-seconds`` per level,
after which no new request is sent). Starts its own servers: SQLite with one process, and, with
``--postgres``, a fresh PostgreSQL database served by ``openkyc serve --workers N`` (plus
``openkyc worker`` with ``--job-worker``). The mix per cycle of ten requests: 3 face compares,
3 searches and 2 enrolments in one collection, 1 selfie verification (3 s GRID clip with a frame of
it as the reference) and 1 MRZ OCR (the ICAO TD3 specimen). 429/503 answers are counted apart
(deliberate back-pressure) and not retried. Prints one JSON document (see docs/benchmarks.md); exits
1 when a server died, a request failed otherwise, or a stored template is not its own photo's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from workload import (
    DEFAULT_DATA,
    DELIBERATE,
    MIX,
    Inputs,
    JobWorker,
    RssSampler,
    ServerDied,
    ServerProcess,
    SignedClient,
    Workload,
    describe_exit,
    identity_check,
    log,
    percentile,
    postgres_database,
)


def run_level(workload: Workload, clients: int, requests: int, deadline_s: float) -> dict[str, Any]:
    """``requests`` requests of the mix from ``clients`` threads; none sent after ``deadline_s``."""
    actions = [MIX[i % len(MIX)] for i in range(requests)]
    latencies: dict[str, list[float]] = {name: [] for name in sorted(set(MIX))}
    ok: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    deliberate: Counter[str] = Counter()
    died: list[str] = []
    start = time.perf_counter()
    deadline = start + deadline_s

    def one(action: str) -> None:
        if time.perf_counter() > deadline or died:
            errors["not_sent_time_limit" if not died else "not_sent_server_died"] += 1
            return
        try:
            answer = workload.send(action)
        except ServerDied as exc:
            errors["connection"] += 1
            died.append(str(exc))
            return
        if answer.status == 200:
            latencies[action].append(answer.seconds * 1000)
            ok[action] += 1
        elif answer.status in DELIBERATE:
            deliberate[str(answer.status)] += 1
        else:
            errors["connection" if answer.status == 0 else str(answer.status)] += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, actions))
    seconds = time.perf_counter() - start
    done = sum(ok.values())
    if died:
        raise LevelAborted(died[0], _level(clients, requests, seconds, done, latencies, ok, errors, deliberate))
    return _level(clients, requests, seconds, done, latencies, ok, errors, deliberate)


class LevelAborted(Exception):
    def __init__(self, message: str, level: dict[str, Any]) -> None:
        super().__init__(message)
        self.level = level


def _level(
    clients: int,
    requests: int,
    seconds: float,
    done: int,
    latencies: dict[str, list[float]],
    ok: Counter[str],
    errors: Counter[str],
    deliberate: Counter[str],
) -> dict[str, Any]:
    return {
        "clients": clients,
        "requests": requests,
        "ok": done,
        "seconds": round(seconds, 2),
        "requests_per_s": round(done / seconds, 3) if seconds else None,
        "actions": {
            name: {
                "ok": ok[name],
                "p50_ms": _ms(percentile(values, 50)),
                "p99_ms": _ms(percentile(values, 99)),
                "max_ms": _ms(max(values) if values else None),
            }
            for name, values in latencies.items()
        },
        "errors": dict(errors),
        "deliberate": dict(deliberate),
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run_config(
    name: str,
    inputs: Inputs,
    data_dir: Path,
    database_url: str,
    args: argparse.Namespace,
    *,
    workers: int | None,
    job_worker: bool,
) -> dict[str, Any]:
    extra_env = {"OPENKYC_LOG_LEVEL": "WARNING"}
    if args.redis_url:
        extra_env["OPENKYC_REDIS_URL"] = args.redis_url
    server = ServerProcess(data_dir=data_dir, database_url=database_url, workers=workers, extra_env=extra_env)
    out: dict[str, Any] = {"config": name, "workers": workers or 1, "job_worker": job_worker, "levels": []}
    credential = server.init()
    worker = JobWorker(server) if job_worker else None
    client = SignedClient(server, credential, timeout=args.request_timeout, max_retries=0)
    workload = Workload(client, inputs)
    with RssSampler() as rss:
        try:
            log(f"[{name}] starting the server")
            server.start()
            rss.watch(server.proc.pid if server.proc else 0, "api")
            if worker is not None:
                worker.start()
                rss.watch(worker.proc.pid if worker.proc else 0, "job-worker")
            workload.setup()
            for action in sorted(set(MIX)):  # warm-up: loads every model once, not counted
                answer = workload.send(action)
                if answer.status != 200:
                    raise RuntimeError(f"warm-up {action} answered {answer.summary()}")
            for clients in args.clients:
                log(f"[{name}] {clients} client(s), {args.requests} requests")
                level = run_level(workload, clients, args.requests, args.level_seconds)
                out["levels"].append(level)
                log(f"[{name}]   {level['requests_per_s']} req/s, errors {level['errors']}")
        except (ServerDied, LevelAborted) as exc:
            if isinstance(exc, LevelAborted):
                out["levels"].append(exc.level)
            first, _, tail = str(exc).partition("\n")
            out["server_died"] = first
            out["server_log_tail"] = tail.splitlines()[-12:]
        except RuntimeError as exc:  # a start or warm-up that failed (e.g. no `openkyc worker` command)
            out["setup_failed"] = str(exc)[-2000:]
        finally:
            out["peak_rss"] = rss.report()
            client.close()
            if worker is not None:
                worker.stop()
            code = server.exit_code()
            if code is not None and "server_died" not in out and not server.stopping:
                out["server_died"] = describe_exit(code)
            server.stop()
    by_clients = {level["clients"]: level["requests_per_s"] for level in out["levels"]}
    if by_clients.get(1) and by_clients.get(4):
        out["throughput_4_over_1"] = round(by_clients[4] / by_clients[1], 2)
    if workload.collection_id:
        log(f"[{name}] identity check of {len(workload.enrolled)} acknowledged enrolments")
        report = identity_check(
            server,
            credential.app_id,
            workload.collection_id,
            inputs.photos,
            workload.attempted,
            expected=list(workload.enrolled),
        )
        out["identity_check"] = report.as_dict()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--clients", default="1,2,4,8,16", help="concurrency levels, comma-separated")
    parser.add_argument("--requests", type=int, default=40, help="requests per level")
    parser.add_argument("--level-seconds", type=float, default=120, help="no new request after this, per level")
    parser.add_argument("--request-timeout", type=float, default=120)
    parser.add_argument("--postgres", metavar="URL", help="also run on a fresh database next to this URL's")
    parser.add_argument(
        "--workers", type=int, default=2, help="API processes on PostgreSQL (`serve --workers`; 1: no option)"
    )
    parser.add_argument("--job-worker", action="store_true", help="start `openkyc worker` on PostgreSQL")
    parser.add_argument("--redis-url", help="OPENKYC_REDIS_URL for the servers and the job worker")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite single-process run")
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    if not 1 <= args.requests <= 1000 or not all(1 <= c <= 64 for c in args.clients):
        parser.error("keep it bounded: 1-1000 requests per level, 1-64 clients")

    inputs = Inputs.load(args.data)
    results = []
    with tempfile.TemporaryDirectory(prefix="openkyc-load-") as tmp:
        if not args.no_sqlite:
            data_dir = Path(tmp) / "sqlite"
            url = f"sqlite:///{data_dir / 'openkyc.db'}"
            results.append(run_config("sqlite", inputs, data_dir, url, args, workers=None, job_worker=False))
        if args.postgres:
            workers = args.workers if args.workers > 1 else None  # 1: no --workers option at all
            with postgres_database(args.postgres) as url:
                results.append(
                    run_config(
                        f"postgresql-{args.workers}-workers",
                        inputs,
                        Path(tmp) / "postgres",
                        url,
                        args,
                        workers=workers,
                        job_worker=args.job_worker,
                    )
                )
    document = {
        "benchmark": "load",
        "mix_per_10_requests": dict(Counter(MIX)),
        "requests_per_level": args.requests,
        "configs": results,
    }
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.exit(0 if all(_clean(config) for config in results) else 1)


def _clean(config: dict[str, Any]) -> bool:
    """No server died, no error besides 429/503, every acknowledged template from its own photo."""
    identity = config.get("identity_check", {})
    return (
        "server_died" not in config
        and "setup_failed" not in config
        and not any(level["errors"] for level in config["levels"])
        and not identity.get("mismatches")
        and not identity.get("missing")
    )


if __name__ == "__main__":
    main()
