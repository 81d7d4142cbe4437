"""What a running service holds: settings, database, keys, clock and lazily loaded engines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openkyc.privacy.crypto import Keyring, MasterKey
from openkyc.settings import Settings
from openkyc.store import db
from openkyc.store.keys import load_keyring, load_master_key


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    master_key: MasterKey
    keyring: Keyring
    clock: Callable[[], datetime] = utc_now
    components: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Open the database (applying migrations) and unwrap the data keys."""
        engine = db.make_engine(settings.resolved_database_url)
        if migrate:
            db.upgrade(engine)
        sessions = db.session_factory(engine)
        master = load_master_key(settings)
        with db.transaction(sessions) as session:
            keyring = load_keyring(session, master)
        return cls(settings=settings, engine=engine, sessions=sessions, master_key=master, keyring=keyring)

    def transaction(self) -> Any:
        return db.transaction(self.sessions)

    def component(self, name: str, factory: Callable[[], Any]) -> Any:
        """A heavy component (a model engine, an index) built once, on first use."""
        if name not in self.components:
            self.components[name] = factory()
        return self.components[name]

    def close(self) -> None:
        self.engine.dispose()
