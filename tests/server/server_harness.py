"""A real ``openkyc serve`` in a subprocess, a signed HTTP client for it, and database look-ups.

Black-box on purpose: the server is driven only through the CLI (``openkyc init``, ``openkyc serve``)
and HTTP; the database is read directly afterwards (or while the server is frozen with SIGSTOP).
Used by ``tests/server`` (through its conftest) and by ``benchmarks/load.py`` / ``kill_test.py``,
so it imports no pytest.

The server runs the same ``openkyc`` package as the caller (its source folder is put first on the
child's ``PYTHONPATH``), in its own process group so that SIGSTOP/SIGCONT/SIGKILL reach every
process it starts (``--workers``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import openkyc
from openkyc.accounts.signing import sign_request

OPENKYC_SRC = Path(openkyc.__file__).resolve().parents[1]
CLI = "from openkyc.cli.main import main; main()"
RETRY_STATUSES = frozenset({429, 503})


class ServerDied(AssertionError):
    """The server process exited while it was expected to serve."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def describe_exit(code: int | None) -> str:
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass(frozen=True)
class Credential:
    account_id: int
    app_id: int
    secret_id: str
    secret_key: str


def openkyc_command(*args: str) -> list[str]:
    return [sys.executable, "-c", CLI, *args]


def server_env(database_url: str, master_key: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    env = {
        **os.environ,
        "PYTHONPATH": f"{OPENKYC_SRC}{os.pathsep}{path}" if path else str(OPENKYC_SRC),
        "OPENKYC_DATABASE_URL": database_url,
        "OPENKYC_MASTER_KEY": master_key,
        "OPENKYC_MODEL_THREADS": "1",
        "OPENKYC_LOG_FORMAT": "json",
    }
    env.update(extra or {})
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(openkyc_command(*args), env=env, capture_output=True, text=True, timeout=timeout)


def pid_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc (psutil is used when installed)."""
    try:
        import psutil  # type: ignore[import-untyped]

        proc = psutil.Process(root)
        return [root, *(child.pid for child in proc.children(recursive=True))]
    except ImportError:
        pass
    except Exception:
        return []
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def peak_rss_bytes(pid: int) -> int | None:
    """The process's peak resident set size (``VmHWM``), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def process_name(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    for word in ("serve", "worker"):
        if word in words:
            return word
    return " ".join(words[-2:])[:60] if words else "?"


@dataclass
class ServerProcess:
    """One ``openkyc serve`` (with its workers, if any) on a free loopback port."""

    data_dir: Path
    database_url: str
    master_key: str = field(default_factory=lambda: b64(secrets.token_bytes(32)))
    workers: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    stopping: bool = False
    death_reported: bool = False
    _log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return server_env(
            self.database_url, self.master_key, {"OPENKYC_DATA_DIR": str(self.data_dir), **self.extra_env}
        )

    def init(self) -> Credential:
        """``openkyc init --json``: the account, app and credential the clients sign with."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        done = run_cli(self.env, "init", "--data-dir", str(self.data_dir), "--json")
        if done.returncode != 0:
            raise RuntimeError(f"openkyc init failed ({describe_exit(done.returncode)}): {done.stderr[-2000:]}")
        out = json.loads(done.stdout)
        return Credential(int(out["account_id"]), int(out["app_id"]), out["secret_id"], out["secret_key"])

    def create_app(self, name: str, account_id: int) -> Credential:
        """``openkyc apps create --json``: another app (of the first account) with its credential."""
        done = run_cli(self.env, "apps", "create", "--name", name, "--data-dir", str(self.data_dir), "--json")
        if done.returncode != 0:
            raise RuntimeError(f"openkyc apps create failed ({describe_exit(done.returncode)}): {done.stderr[-2000:]}")
        out = json.loads(done.stdout)
        return Credential(account_id, int(out["app_id"]), out["secret_id"], out["secret_key"])

    def start(self, *, timeout: float = 180) -> None:
        args = ["serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers is not None:
            args += ["--workers", str(self.workers)]
        self.log_path = self.data_dir / f"server-{self.port}-{int(time.time() * 1000)}.log"
        self._log = self.log_path.open("wb")
        self.stopping = self.death_reported = False
        self.proc = subprocess.Popen(
            openkyc_command(*args),
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: signals reach the workers too
        )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.raise_if_died("while starting")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer /v1/health within {timeout:.0f} s\n{self.log_tail()}")

    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def died(self) -> str | None:
        """A description of an unexpected exit (code or signal, and the log's tail), else None."""
        code = self.exit_code()
        if code is None or self.stopping:
            return None
        return f"the server process died: {describe_exit(code)}\n--- server log (tail) ---\n{self.log_tail()}"

    def raise_if_died(self, when: str = "") -> None:
        message = self.died()
        if message is not None:
            self.death_reported = True
            raise ServerDied(f"{when}: {message}" if when else message)

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_bytes()[-20000:].decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def pids(self) -> list[int]:
        return [] if self.proc is None or self.exit_code() is not None else pid_tree(self.proc.pid)

    def signal_group(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Every server process stopped (SIGSTOP) inside the block, continued after it."""
        self.signal_group(signal.SIGSTOP)
        try:
            yield
        finally:
            self.signal_group(signal.SIGCONT)

    def kill(self) -> None:
        """``kill -9`` of the whole server (every process of its group)."""
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            with suppress(ProcessLookupError):
                self.signal_group(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._close_log()

    def stop(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            with suppress(ProcessLookupError):
                self.signal_group(signal.SIGCONT)
                self.signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    self.signal_group(signal.SIGKILL)
                self.proc.wait(timeout=30)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Answer:
    """One HTTP answer (or a transport failure: ``status`` 0), with its latency and retries."""

    status: int
    body: dict[str, Any]
    seconds: float
    retries: int = 0
    transport_error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        error = self.body.get("Error")
        return error.get("Code") if isinstance(error, dict) else None

    def summary(self) -> str:
        """Status, code (or, for a refusal without one, the start of its raw body) and retries."""
        parts = [str(self.status), self.code or "", self.transport_error or ""]
        if self.status >= 400 and self.code is None:
            parts.append(f"no error code: {json.dumps(self.body)[:200]} {self.headers.get('content-type', '')}")
        if self.retries:
            parts.append(f"after {self.retries} retries")
        return " ".join(p for p in parts if p)


class SignedClient:
    """Signs as one credential; one ``httpx.Client`` per thread (each thread is its own client).

    429 and 503 (deliberate back-pressure) are retried after ``Retry-After`` up to ``max_retries``
    times, each retry signed afresh; a transport failure checks whether the server died and raises
    :class:`ServerDied` with its exit status and log when it did.
    """

    def __init__(
        self, server: ServerProcess, credential: Credential, *, timeout: float = 120, max_retries: int = 30
    ) -> None:
        self.server = server
        self.credential = credential
        self.timeout = timeout
        self.max_retries = max_retries
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.server.url, timeout=self.timeout)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        route, _, query = path.partition("?")
        return sign_request(
            self.credential.secret_id,
            self.credential.secret_key,
            method=method,
            path=route,
            query=query,
            host=f"127.0.0.1:{self.server.port}",
            body=body,
            timestamp=int(time.time()),
            extra_signed_headers={"X-TC-Nonce": uuid.uuid4().hex},
        )

    def request(
        self, method: str, path: str, payload: Any = None, *, signed: bool = True, headers: dict[str, str] | None = None
    ) -> Answer:
        body = b"" if payload is None else json.dumps(payload).encode()
        start = time.perf_counter()
        retries = 0
        while True:
            sent = self._headers(method, path, body) if signed else {"Content-Type": "application/json"}
            sent.update(headers or {})
            try:
                response = self._client().request(method, path, content=body, headers=sent)
            except httpx.HTTPError as exc:
                self.server.raise_if_died(f"{method} {path} failed ({type(exc).__name__})")
                return Answer(0, {}, time.perf_counter() - start, retries, f"{type(exc).__name__}: {exc}")
            if response.status_code in RETRY_STATUSES and retries < self.max_retries:
                retries += 1
                time.sleep(min(float(response.headers.get("Retry-After") or 0.2), 2.0))
                continue
            try:
                parsed = response.json()
            except ValueError:
                parsed = {"_text": response.text[:500]}
            return Answer(
                response.status_code,
                parsed if isinstance(parsed, dict) else {},
                time.perf_counter() - start,
                retries,
                headers=dict(response.headers),
            )

    def post(
        self, path: str, payload: Any = None, *, signed: bool = True, headers: dict[str, str] | None = None
    ) -> Answer:
        return self.request("POST", path, payload if payload is not None else {}, signed=signed, headers=headers)

    def get(self, path: str, *, signed: bool = True) -> Answer:
        return self.request("GET", path, signed=signed)

    def put(self, path: str, payload: Any) -> Answer:
        return self.request("PUT", path, payload)

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()


# --- direct database reads ------------------------------------------------------------------------


class Database:
    """Read-only look-ups straight from the server's database (SQLite file or PostgreSQL)."""

    def __init__(self, url: str, data_dir: Path | None = None, master_key: str | None = None) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.data_dir, self.master_key = data_dir, master_key  # to reach the key store (keyed hashes)
        parsed = make_url(url)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.engine = create_engine(parsed)

    def subject_ref(self, app_id: int, subject_id: str) -> str:
        """What the server stores instead of ``subject_id``: its keyed hash (the key store's lookup key)."""
        from openkyc.privacy.crypto import MasterKey
        from openkyc.store.subject_keys import SubjectKeys

        assert self.data_dir is not None and self.master_key is not None, "Database(url, data_dir, master_key)"
        keys = SubjectKeys.open(
            f"sqlite:///{self.data_dir / 'keys' / 'keys.db'}", MasterKey(base64.b64decode(self.master_key))
        )
        try:
            return keys.subject_ref(app_id, subject_id)
        finally:
            keys.close()

    def subject_count(self, collection_id: str, subject_id: str) -> int:
        from sqlalchemy import func, select

        from openkyc.store.models.faces import Collection, Subject

        with self.engine.connect() as connection:
            app_id = connection.scalar(select(Collection.app_id).where(Collection.id == collection_id))
        if app_id is None:
            return 0
        subject_id = self.subject_ref(int(app_id), subject_id)

        with self.engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(Subject)
                    .where(Subject.collection_id == collection_id, Subject.subject_id == subject_id)
                )
                or 0
            )

    def template_keys(self, app_id: int) -> list[str]:
        """The ids of the app's template keys."""
        from sqlalchemy import select

        from openkyc.store.models.faces import TemplateKeyRow

        with self.engine.connect() as connection:
            return [
                str(k) for k in connection.scalars(select(TemplateKeyRow.key_id).where(TemplateKeyRow.app_id == app_id))
            ]

    def templates(self, collection_id: str) -> list[tuple[str, str, bytes]]:
        """``(subject_id, key_id, template bytes)`` of every subject of the collection."""
        from sqlalchemy import select

        from openkyc.store.models.faces import Subject

        with self.engine.connect() as connection:
            rows = connection.execute(
                select(Subject.subject_id, Subject.key_id, Subject.template).where(
                    Subject.collection_id == collection_id
                )
            ).all()
        return [(str(r[0]), str(r[1]), bytes(r[2])) for r in rows]

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class LiveServer:
    """A started server, the credential ``openkyc init`` printed, a signed client and the database."""

    process: ServerProcess
    credential: Credential
    client: SignedClient
    db: Database


@dataclass
class IdentityReport:
    """Stored templates against templates recomputed from the photos they were enrolled with."""

    checked: int
    exact: int
    own_best: int
    mismatches: list[str]
    missing: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "exact_bytes": self.exact,
            "match_own_photo": self.own_best,
            "mismatches": len(self.mismatches),
            "mismatched_subjects": self.mismatches[:20],
            "missing": len(self.missing),
        }


def identity_check(
    server: ServerProcess,
    app_id: int,
    collection_id: str,
    photos: dict[str, bytes],
    subject_photo: dict[str, str],
    *,
    expected: Sequence[str] | None = None,
) -> IdentityReport:
    """Every stored template of the collection recomputed from its own photo, with the app's key.

    ``photos`` maps a photo name to its bytes, ``subject_photo`` each subject_id to the name of the
    photo it was enrolled with. A stored template matches when it is within 2 % of its bits of the
    template recomputed from its own photo (equal bytes are expected; the margin allows float noise)
    and no other photo's template is closer. ``expected`` (default: every subject of
    ``subject_photo``) lists the subjects that must be stored.
    """
    from openkyc.biometrics import keystore
    from openkyc.biometrics.engine import FaceEngine
    from openkyc.biometrics.repository import open_template
    from openkyc.biometrics.templates import FaceTemplate, hamming_similarity
    from openkyc.privacy.crypto import sealed_key_id
    from openkyc.runtime import Runtime
    from openkyc.settings import Settings

    settings = Settings(
        data_dir=server.data_dir,
        database_url=server.database_url,
        master_key=server.master_key,
        environment="test",
        preload_models=False,
    )
    database = Database(server.database_url, server.data_dir, server.master_key)
    stored = database.templates(collection_id)
    database.close()
    runtime = Runtime.open(settings, migrate=False)
    names = {*subject_photo, *(expected or ())}  # the database holds subject ids as keyed hashes
    by_ref = {runtime.subject_keys.subject_ref(app_id, sid): sid for sid in names}
    # templates are sealed under each subject's key: opened with the service's key store
    found = runtime.subject_keys.keys(sealed_key_id(blob) for _, _, blob in stored)
    stored = [
        (by_ref.get(ref, ref), key_id, open_template(found, app_id, collection_id, ref, blob) or b"")
        for ref, key_id, blob in stored
    ]
    engine = FaceEngine.for_embedder("sface", num_threads=1)
    recomputed: dict[str, dict[str, FaceTemplate]] = {}  # key_id -> photo name -> template
    exact = own_best = 0
    mismatches: list[str] = []
    try:
        with runtime.transaction() as session:
            for subject_id, key_id, blob in stored:
                if key_id not in recomputed:
                    key = keystore.key_by_id(session, runtime.keyring, app_id, key_id)
                    recomputed[key_id] = {
                        name: engine.enrol(photo, key, require_single=True).template for name, photo in photos.items()
                    }
                name = subject_photo.get(subject_id)
                own = recomputed[key_id].get(name) if name is not None else None
                if own is None:
                    mismatches.append(subject_id)
                    continue
                if own.to_bytes() == blob:
                    exact += 1
                template = FaceTemplate.from_bytes(blob)
                scores = {other: hamming_similarity(template, t) for other, t in recomputed[key_id].items()}
                if scores[name] >= 0.98 and max(scores.values()) <= scores[name]:
                    own_best += 1
                else:
                    mismatches.append(subject_id)
    finally:
        runtime.close()
    present = {row[0] for row in stored}
    missing = [sid for sid in (expected if expected is not None else subject_photo) if sid not in present]
    return IdentityReport(len(stored), exact, own_best, mismatches, missing)
