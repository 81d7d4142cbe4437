"""Looking for a subject's data where deleted data lingers: raw database files, WAL, backups.

Every sealed value starts ``b"K1" | len(key_id) | key_id``. :class:`Finder` looks for those headers
in raw bytes (a SQLite file or WAL, a PostgreSQL page or WAL segment, a blob file) and tries to
open each with the service's own keys (the keyring and the key store), with every associated data
and plaintext length the test knows for the subject: what opens is a readable copy.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, create_engine, text
from sqlalchemy.engine import make_url

from openkyc.privacy.crypto import DecryptionError, unseal
from openkyc.store.models import Base

_HEADER = re.compile(rb"K1([\x04-\x28])(?:dk|sk|rk)-")
_OVERHEAD = 12 + 16  # nonce + GCM tag


@dataclass
class Secret:
    """One sealed value the test wrote: its associated data and its plaintext."""

    aad: bytes
    plaintext: bytes


@dataclass
class Finder:
    keyring: Any  # the service's Keyring (shared data keys + the key store as resolver)
    secrets: list[Secret] = field(default_factory=list)

    def add(self, aad: str, plaintext: bytes | str) -> None:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        self.secrets.append(Secret(aad.encode(), data))

    def open_token(self, token: bytes) -> list[bytes]:
        """The plaintexts among ours that ``token`` (a whole sealed value) opens to."""
        if not _HEADER.match(token):
            return []  # not a sealed value (a template, a wrapped key)
        key = self.keyring.key_for(token[3 : 3 + token[2]].decode())
        if key is None:
            return []
        out = []
        for secret in self.secrets:
            try:
                out.append(unseal(key, token, secret.aad))
            except DecryptionError:
                continue
        return out

    def scan(self, raw: bytes) -> list[bytes]:
        """Every plaintext of ours readable from sealed values anywhere in ``raw``."""
        found = []
        for match in _HEADER.finditer(raw):
            start = match.start()
            id_len = match.group(1)[0]
            key_id = raw[start + 3 : start + 3 + id_len]
            if not re.fullmatch(rb"[a-z]{2}-[0-9a-f]+", key_id):
                continue
            key = self.keyring.key_for(key_id.decode())
            if key is None:
                continue  # a destroyed (or foreign) key: nothing to read
            head = 3 + id_len
            for secret in self.secrets:
                token = raw[start : start + head + _OVERHEAD + len(secret.plaintext)]
                try:
                    found.append(unseal(key, token, secret.aad))
                except DecryptionError:
                    continue
        return found


def sqlite_files(data_dir: Path, name: str = "openkyc.db") -> bytes:
    """The database file and its WAL, as they are on disk."""
    out = b""
    for suffix in ("", "-wal", "-journal"):
        path = data_dir / (name + suffix)
        if path.exists():
            out += path.read_bytes()
    return out


def column_values(url: str) -> Iterator[bytes]:
    """Every value of every binary column of every table (a restored backup, read through SQL)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                for column in table.columns:
                    if isinstance(column.type, LargeBinary):
                        rows = connection.execute(text(f'SELECT "{column.name}" FROM "{table.name}"'))
                        yield from (bytes(v) for (v,) in rows if v is not None)
    finally:
        engine.dispose()


def libpq_url(url: Any) -> str:
    return str(
        make_url(str(url) if not isinstance(url, str) else url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def pg_dump(url: str, target: Path) -> Path:
    subprocess.run(["pg_dump", "--no-owner", "-Fp", "-f", str(target), libpq_url(url)], check=True)
    return target


def pg_restore_scratch(url: str, dump: Path) -> tuple[str, Any]:
    """Restores ``dump`` into a new scratch database; returns its URL and a function that drops it."""
    name = f"openkyc_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(libpq_url(url)).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    scratch = make_url(libpq_url(url)).set(database=name)
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump), scratch.render_as_string(hide_password=False)],
        check=True,
        capture_output=True,
    )

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return scratch.set(drivername="postgresql+psycopg").render_as_string(hide_password=False), drop


def pg_raw_pages(connection: Any, tables: Iterable[str]) -> bytes:
    """Every page of ``tables`` and their indexes, raw (pageinspect), dead tuples and free space included."""
    connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pageinspect")
    out = []
    for table in tables:
        relations = [table] + [
            r[0] for r in connection.exec_driver_sql(f"SELECT indexname FROM pg_indexes WHERE tablename = '{table}'")
        ]
        for relation in relations:
            pages = connection.exec_driver_sql(f"SELECT pg_relation_size('\"{relation}\"') / 8192").scalar()
            for page in range(int(pages or 0)):
                raw = connection.exec_driver_sql(f"SELECT get_raw_page('\"{relation}\"', {page})").scalar()
                out.append(bytes(raw))
    return b"".join(out)


def pg_wal(connection: Any, since: Any) -> bytes:
    """The WAL segments written since ``since`` (superuser: pg_read_binary_file)."""
    names = [
        r[0]
        for r in connection.exec_driver_sql(
            "SELECT name FROM pg_ls_waldir() WHERE modification >= %(since)s ORDER BY name", {"since": since}
        )
    ]
    return b"".join(
        bytes(connection.exec_driver_sql(f"SELECT pg_read_binary_file('pg_wal/{name}')").scalar()) for name in names
    )
