"""The mixed request workload shared by ``load.py`` and ``kill_test.py``; loopback only.

Servers are started with ``tests/server/server_harness.py`` (a real ``openkyc serve`` subprocess),
inputs come from ``tests/server/server_data.py`` (real photos, GRID clips, an MRZ specimen).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))

from server_data import FACEREC_PHOTOS, compare_pairs, first_frame_jpeg, mrz_specimen  # noqa: E402
from server_harness import (  # noqa: E402
    Answer,
    Credential,
    Database,
    ServerDied,
    ServerProcess,
    SignedClient,
    describe_exit,
    identity_check,
    openkyc_command,
    peak_rss_bytes,
    pid_tree,
    process_name,
    run_cli,
)

__all__ = [
    "Credential",
    "Database",
    "Inputs",
    "JobWorker",
    "RssSampler",
    "ServerDied",
    "ServerProcess",
    "SignedClient",
    "Workload",
    "b64",
    "describe_exit",
    "identity_check",
    "log",
    "percentile",
    "pid_tree",
    "postgres_database",
    "run_cli",
]

DEFAULT_DATA = ROOT.parent / "shared" / "data"
DELIBERATE = frozenset({429, 503})
# one cycle of the mix: 3 compare, 3 search, 2 enrol, 1 selfie, 1 ocr
MIX = ("compare", "search", "enrol", "compare", "selfie", "search", "enrol", "compare", "ocr", "search")


def all_photos(shared: Path) -> dict[str, bytes]:
    """Every single-face photo that enrols alone: 55 of the dlib Johns and 14 of facerec-examples."""
    paths = [shared / "facerec-examples" / "identities" / name for name in FACEREC_PHOTOS]
    paths += sorted((shared / "dlib-johns").glob("John_*/*.jpg"))
    return {f"ph{i:02d}": path.read_bytes() for i, path in enumerate(paths)}


@dataclass
class Inputs:
    photos: dict[str, bytes]
    pairs: list[tuple[bytes, bytes]]
    selfie_video: bytes
    selfie_reference: bytes
    document: bytes

    @classmethod
    def load(cls, shared: Path) -> Inputs:
        clip = shared / "grid-talking-face-videos" / "bbaf2n.mpg"
        return cls(
            photos=all_photos(shared),
            pairs=compare_pairs(shared, 16),
            selfie_video=clip.read_bytes(),
            selfie_reference=first_frame_jpeg(clip),
            document=mrz_specimen(shared),
        )


def b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


@dataclass
class Workload:
    """Builds and sends one request of an action; remembers every acknowledged enrolment."""

    client: SignedClient
    inputs: Inputs
    collection_id: str = ""
    enrolled: dict[str, str] = field(default_factory=dict)  # acknowledged subject_id -> photo name
    attempted: dict[str, str] = field(default_factory=dict)  # every subject_id sent -> photo name
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: int = 0

    def _next(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def setup(self, seed_subjects: int = 8) -> None:
        created = self.client.post("/v1/collections", {"name": f"load-{uuid.uuid4().hex[:8]}"})
        if created.status != 200:
            raise RuntimeError(f"could not create a collection: {created.summary()}")
        self.collection_id = str(created.body["collection_id"])
        for _ in range(seed_subjects):
            answer = self.send("enrol")
            if answer.status != 200:
                raise RuntimeError(f"could not enrol a seed subject: {answer.summary()}")

    def send(self, action: str) -> Answer:
        n = self._next()
        names = list(self.inputs.photos)
        if action == "compare":
            a, b = self.inputs.pairs[n % len(self.inputs.pairs)]
            return self.client.post("/v1/faces/compare", {"image_a": b64(a), "image_b": b64(b)})
        if action == "search":
            photo = self.inputs.photos[names[n % len(names)]]
            return self.client.post(f"/v1/collections/{self.collection_id}/search", {"image": b64(photo), "top_k": 5})
        if action == "enrol":
            name = names[n % len(names)]
            subject_id = f"s{n:05d}-{uuid.uuid4().hex[:6]}"
            with self._lock:
                self.attempted[subject_id] = name
            answer = self.client.post(
                f"/v1/collections/{self.collection_id}/subjects",
                {"subject_id": subject_id, "image": b64(self.inputs.photos[name])},
            )
            if answer.status == 200:
                with self._lock:
                    self.enrolled[subject_id] = name
            return answer
        if action == "selfie":
            return self.client.post(
                "/v1/verifications/selfie",
                {"video": b64(self.inputs.selfie_video), "image": b64(self.inputs.selfie_reference), "mode": "silent"},
            )
        if action == "ocr":
            return self.client.post("/v1/documents/ocr", {"image": b64(self.inputs.document)})
        raise ValueError(action)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0-100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class RssSampler:
    """Peak RSS (VmHWM) of every process of the watched process trees, sampled in a thread."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.roots: dict[int, str] = {}
        self.peaks: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, pid: int, role: str) -> None:
        self.roots[pid] = role

    def sample(self) -> None:
        for root, role in list(self.roots.items()):
            for pid in pid_tree(root):
                peak = peak_rss_bytes(pid)
                if peak is None:
                    continue
                name = role if pid == root else f"{role}/{process_name(pid)}"
                previous = self.peaks.get(pid, (name, 0))[1]
                self.peaks[pid] = (name, max(previous, peak))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def report(self) -> list[dict[str, Any]]:
        return [
            {"pid": pid, "process": name, "peak_rss_mb": round(peak / 2**20, 1)}
            for pid, (name, peak) in sorted(self.peaks.items())
        ]


@dataclass
class JobWorker:
    """``openkyc worker`` (the background job queue), when the deployment has one."""

    server: ServerProcess
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> None:
        self.log_path = self.server.data_dir / f"worker-{int(time.time() * 1000)}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                openkyc_command("worker", "--data-dir", str(self.server.data_dir)),
                env=self.server.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        time.sleep(3)
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"openkyc worker exited at once ({describe_exit(self.proc.returncode)}):\n{tail}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``url``'s, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    admin_url = base.set(drivername="postgresql+psycopg") if base.drivername == "postgresql" else base
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"openkyc_load_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
