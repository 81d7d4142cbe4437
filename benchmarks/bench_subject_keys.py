"""Subject-key creation for bulk import: one key-store transaction per subject against one per chunk.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_subject_keys.py [--subjects 2000] [--batch 32] [--rounds 2]

On a fresh SQLite key store each (the default ``data_dir/keys/keys.db`` kind), ``--subjects`` new
subject keys are made in chunks of ``--batch`` (the chunk ``openkyc import`` writes per data
transaction): ``one_at_a_time`` calls ``SubjectKeys.for_subject`` per subject (the import's path
before), ``per_chunk`` calls ``SubjectKeys.for_subjects`` once per chunk. The two alternate for
``--rounds`` rounds so both see the same load; wall and CPU seconds of each, as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from openkyc.privacy.crypto import MasterKey, new_key
from openkyc.store.subject_keys import SubjectKeys


def _run(mode: str, subjects: int, batch: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        keys = SubjectKeys.open(f"sqlite:///{Path(tmp) / 'keys.db'}", MasterKey(new_key()))
        ids = [f"subject-{i}" for i in range(subjects)]
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, subjects, batch):
            chunk = ids[start : start + batch]
            if mode == "one_at_a_time":
                for subject_id in chunk:
                    keys.for_subject(1, subject_id)
            else:
                keys.for_subjects(1, chunk)
        result = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
        keys.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    out: dict[str, object] = {"benchmark": "subject_keys", "subjects": args.subjects, "batch": args.batch}
    out["load_average_before"] = round(os.getloadavg()[0], 2)
    runs: dict[str, list[dict[str, float]]] = {"one_at_a_time": [], "per_chunk": []}
    for _ in range(args.rounds):
        for mode, found in runs.items():
            found.append(_run(mode, args.subjects, args.batch))
    out.update(runs)
    out["load_average_after"] = round(os.getloadavg()[0], 2)
    sys.stdout.write(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
