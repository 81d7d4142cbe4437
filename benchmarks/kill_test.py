"""Kill test: ``kill -9`` an API process (and the job worker) in the middle of load, restart, check.

    .venv/bin/python benchmarks/kill_test.py [--clients 4] [--writes 30] [--kill-after 12] [--rounds 5]
        [--postgres postgresql://postgres@127.0.0.1:5432/test [--workers 2] [--job-worker --redis-url URL]]

Loopback only, bounded: ``--rounds`` rounds of ``--writes`` write requests (enrolments, with rule
and session creations between them) and compares from ``--clients`` threads. In each round the
client thread that receives the ``--kill-after``-th enrolment 200 sends SIGKILL at once: to the
server (one process; the round's remaining writes are not sent), or to one API worker process
(``--workers``; the load runs on), and to ``openkyc worker`` when ``--job-worker`` is given. Each
round starts the server again on the same database. A kill lands in a given window only by
chance, hence several rounds. After the last round the server is started once more, and:

- every acknowledged (200) enrolment is in the database, and every acknowledged rule and session
  is answered by the API;
- the 1:N index answers a search for every subject in the database (its own photo finds it among
  the best matches);
- stored templates match their own photos (identity check);
- ``openkyc audit verify`` passes;
- with ``--job-worker``: liveness checks under a rule with a ``webhook_url`` are part of the load,
  and every acknowledged one's webhook reaches a local receiver after the restart (queued jobs
  survive in Redis; a job whose worker was killed mid-run is retried by RQ's maintenance), and the
  restarted worker runs retention sweeps again (``OPENKYC_RETENTION_SWEEP_SECONDS`` is 10 here).

Prints one JSON document; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from workload import (
    DEFAULT_DATA,
    Database,
    Inputs,
    JobWorker,
    ServerDied,
    ServerProcess,
    SignedClient,
    Workload,
    b64,
    describe_exit,
    identity_check,
    log,
    pid_tree,
    postgres_database,
    run_cli,
)


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Killer:
    """Sends SIGKILL once, from the thread that saw the ``after``-th acknowledged enrolment."""

    def __init__(self, server: ServerProcess, worker: JobWorker | None, after: int) -> None:
        self.server, self.worker, self.after = server, worker, after
        self.count = 0
        self.killed: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def acknowledged(self) -> None:
        with self._lock:
            self.count += 1
            if self.count != self.after:
                return
            assert self.server.proc is not None
            tree = pid_tree(self.server.proc.pid)
            if self.server.workers and len(tree) > 1:
                target = max(tree[1:], key=_rss)  # an API worker (they hold the models); the rest live on
                role = "api-worker"
            else:
                target, role = self.server.proc.pid, "api"
                self.server.stopping = True  # expected: transport errors are not a crash
            os.kill(target, signal.SIGKILL)
            if role == "api":
                self.server.proc.wait(timeout=30)
            self.killed.append({"pid": target, "process": role, "after_acknowledged": self.count})
            if self.worker is not None and self.worker.proc is not None:
                self.killed.append({"pid": self.worker.proc.pid, "process": "job-worker"})
                self.worker.kill()


class HookReceiver:
    """A webhook receiver on 127.0.0.1 that records the verification ids it is told of."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    receiver.seen.add(str(json.loads(body).get("verification_id")))
                finally:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sweeps_since(database_url: str, since: datetime) -> int:
    """Retention sweeps recorded in the audit log after ``since``."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT created_at FROM audit_log WHERE event_type = 'retention_sweep'")
            ).scalars()
            return sum(1 for created in rows if _aware(created) > since)
    finally:
        engine.dispose()


def _aware(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(args: argparse.Namespace, inputs: Inputs, data_dir: Path, database_url: str) -> dict[str, Any]:
    extra_env = {"OPENKYC_LOG_LEVEL": "WARNING"}
    if args.redis_url:
        extra_env["OPENKYC_REDIS_URL"] = args.redis_url
    hooks = HookReceiver() if args.job_worker else None
    if hooks is not None:
        extra_env["OPENKYC_RETENTION_SWEEP_SECONDS"] = "10"  # the worker's sweeps, so their resumption shows
    server = ServerProcess(
        data_dir=data_dir,
        database_url=database_url,
        workers=args.workers if args.postgres and args.workers > 1 else None,
        extra_env=extra_env,
    )
    credential = server.init()
    worker = JobWorker(server) if args.job_worker else None
    workload: Workload | None = None
    hook_rule: str | None = None
    verifications: list[str] = []  # acknowledged results whose webhook must arrive
    rules: list[str] = []
    sessions: list[str] = []
    failures: dict[str, int] = {}
    crashed: list[str] = []
    killed: list[dict[str, Any]] = []
    exits: list[str] = []
    lock = threading.Lock()

    for round_ in range(args.rounds):
        server.start()
        if worker is not None:
            worker.start()
        client = SignedClient(server, credential, timeout=60, max_retries=5)
        if workload is None:
            workload = Workload(client, inputs)
            workload.setup(seed_subjects=4)
            if hooks is not None:
                created = client.post("/v1/rules", {"name": "kill-hooks", "config": {"webhook_url": hooks.url}})
                hook_rule = created.body["rule_id"]
        workload.client = client
        killer = Killer(server, worker, args.kill_after)
        load = workload

        def write(i: int, client: SignedClient = client, killer: Killer = killer) -> None:
            if killer.killed and not server.workers:
                return  # the only API process is gone: nothing to send until the restart
            try:
                write_one(i, client, killer)
            except ServerDied as exc:  # the server died by itself, apart from the kill
                with lock:
                    if not crashed:
                        crashed.append(str(exc)[:3000])
                    server.stopping = True

        def write_one(
            i: int, client: SignedClient, killer: Killer, load: Workload = load, hook_rule: str | None = hook_rule
        ) -> None:
            kind = "rule" if i % 10 == 3 else "session" if i % 10 == 7 else "enrol"
            if hook_rule is not None and i % 10 == 5:
                kind = "liveness"
            if kind == "liveness":
                video = b64(inputs.selfie_video)
                answer = client.post("/v1/liveness", {"video": video, "mode": "silent", "rule_id": hook_rule})
                if answer.status == 200:
                    with lock:
                        verifications.append(answer.body["verification_id"])
            elif kind == "enrol":
                answer = load.send("enrol")
                if answer.status == 200:
                    killer.acknowledged()
            elif kind == "rule":
                answer = client.post("/v1/rules", {"name": f"kill-{uuid.uuid4().hex[:8]}", "config": {}})
                if answer.status == 200:
                    with lock:
                        rules.append(answer.body["rule_id"])
            else:
                answer = client.post("/v1/sessions", {"redirect_url": "https://shop.example/done"})
                if answer.status == 200:
                    with lock:
                        sessions.append(answer.body["biz_token"])
            if i % 4 == 0:
                load.send("compare")  # keeps the models busy while the writes go on
            if answer.status != 200:
                with lock:
                    key = "connection" if answer.status == 0 else str(answer.status)
                    failures[key] = failures.get(key, 0) + 1

        log(
            f"round {round_ + 1}/{args.rounds}: {args.writes} writes from {args.clients} clients, "
            f"kill -9 after {args.kill_after} enrolments"
        )
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(write, range(args.writes)))
        client.close()
        killed.extend(killer.killed)
        exits.append(describe_exit(server.exit_code()))
        if worker is not None:
            worker.stop()
        server.stop()
    assert workload is not None

    log("restarting")
    restarted = datetime.now(UTC)
    server.start()
    if worker is not None:
        worker.start()
    missing_webhooks: list[str] = []
    sweeps_after_restart = None
    if hooks is not None:
        log(f"waiting for {len(verifications)} webhooks and a retention sweep (up to {args.job_wait} s)")
        deadline = time.monotonic() + args.job_wait
        while time.monotonic() < deadline:
            missing_webhooks = [v for v in verifications if v not in hooks.seen]
            sweeps_after_restart = sweeps_since(database_url, restarted)
            if not missing_webhooks and sweeps_after_restart:
                break
            time.sleep(2)
        hooks.close()
    client = SignedClient(server, credential, timeout=60)
    database = Database(database_url)
    try:
        missing_subjects = [s for s in workload.enrolled if database.subject_count(workload.collection_id, s) != 1]
        missing_rules = [r for r in rules if client.get(f"/v1/rules/{r}").status != 200]
        missing_sessions = [t for t in sessions if client.get(f"/v1/sessions/{t}/result").status != 200]
        stored = [row[0] for row in database.templates(workload.collection_id)]
        index_misses = []
        for subject_id in stored:
            photo = inputs.photos[workload.attempted[subject_id]]
            answer = client.post(f"/v1/collections/{workload.collection_id}/search", {"image": b64(photo), "top_k": 10})
            matches = answer.body.get("matches", []) if answer.status == 200 else []
            best = matches[0]["sim"] if matches else None
            if not any(m["subject_id"] == subject_id and m["sim"] == best for m in matches):
                index_misses.append(subject_id)
    finally:
        client.close()
        database.close()
        if worker is not None:
            worker.stop()
        server.stop()
    identity = identity_check(
        server, credential.app_id, workload.collection_id, inputs.photos, workload.attempted, expected=[]
    )
    audit = run_cli(server.env, "audit", "verify", "--data-dir", str(data_dir), "--json")
    result = {
        "crashed_by_itself": crashed[0] if crashed else None,
        "killed": killed,
        "server_at_end_of_each_round": exits,
        "failed_writes_by_status": failures,
        "acknowledged": {"enrolments": len(workload.enrolled), "rules": len(rules), "sessions": len(sessions)},
        "missing_after_restart": {
            "enrolments": missing_subjects,
            "rules": missing_rules,
            "sessions": missing_sessions,
        },
        "subjects_in_database": len(stored),
        "index_misses": index_misses,
        "webhooks": ({"acknowledged": len(verifications), "missing": missing_webhooks} if hooks is not None else None),
        "sweeps_after_restart": sweeps_after_restart,
        "identity_check": identity.as_dict(),
        "audit_verify": {"exit_code": audit.returncode, "output": (audit.stdout or audit.stderr)[-1500:]},
    }
    result["ok"] = (
        len(killed) >= args.rounds
        and not crashed
        and not (missing_subjects or missing_rules or missing_sessions or index_misses or identity.mismatches)
        and audit.returncode == 0
        and (hooks is None or (not missing_webhooks and bool(sweeps_after_restart)))
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--writes", type=int, default=30, help="write requests per round")
    parser.add_argument("--kill-after", type=int, default=12, help="kill after this many enrolment 200s in a round")
    parser.add_argument("--rounds", type=int, default=5, help="start, load, kill -9; this many times")
    parser.add_argument("--postgres", metavar="URL", help="run on a fresh database next to this URL's")
    parser.add_argument(
        "--workers", type=int, default=2, help="API processes on PostgreSQL (`serve --workers`; 1: no option)"
    )
    parser.add_argument("--job-worker", action="store_true", help="start `openkyc worker` and kill it too")
    parser.add_argument("--redis-url", help="OPENKYC_REDIS_URL for the server and the job worker")
    parser.add_argument(
        "--job-wait", type=float, default=240, help="seconds to wait after the restart for webhooks and a sweep"
    )
    args = parser.parse_args()
    if not (1 <= args.clients <= 32 and 1 <= args.writes <= 1000 and 1 <= args.kill_after < args.writes):
        parser.error("keep it bounded: 1-32 clients, 1-1000 writes, kill-after below writes")
    if not 1 <= args.rounds <= 20:
        parser.error("1-20 rounds")

    inputs = Inputs.load(args.data)
    with tempfile.TemporaryDirectory(prefix="openkyc-kill-") as tmp:
        data_dir = Path(tmp) / "data"
        if args.postgres:
            with postgres_database(args.postgres) as url:
                result = run(args, inputs, data_dir, url)
        else:
            result = run(args, inputs, data_dir, f"sqlite:///{data_dir / 'openkyc.db'}")
    result = {"benchmark": "kill_test", "database": "postgresql" if args.postgres else "sqlite", **result}
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
