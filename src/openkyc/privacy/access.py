"""What a service needs to reach stored personal data: transactions, the purpose gate, keys, blobs, clock.

Services receive this (and, separately, the model pool and the 1:N index) in their constructor
instead of the whole runtime. Each service opens short transactions with :meth:`DataAccess.transaction`:
read what it needs, run models with no transaction open, then write and commit.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from openkyc.privacy.crypto import Keyring
from openkyc.privacy.gate import PurposeGate
from openkyc.store import db
from openkyc.store.blobs import BlobStore


@dataclass(frozen=True)
class DataAccess:
    sessions: sessionmaker[Session]
    gate: PurposeGate
    keyring: Keyring
    blobs: BlobStore
    clock: Callable[[], datetime]

    def transaction(self) -> AbstractContextManager[Session]:
        """A session committed when the block ends without error, rolled back otherwise."""
        return db.transaction(self.sessions)
