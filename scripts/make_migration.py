"""Developer helper: autogenerate a migration from the models (``python scripts/make_migration.py ID "message"``)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from openkyc.store import db


def main() -> None:
    rev_id, message = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{Path(tmp) / 'm.db'}")
        db.upgrade(engine)
        command.revision(db.alembic_config(engine), message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()


if __name__ == "__main__":
    main()
