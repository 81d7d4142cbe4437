"""Template keys: one active key per app, made once under concurrent first use; rotation swaps it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from openkyc.biometrics import keystore
from openkyc.store.models.faces import TemplateKeyRow

THREADS = 16
BITS = 1024


def _rows(runtime: Any, app_id: int) -> list[TemplateKeyRow]:
    with runtime.transaction() as session:
        return list(
            session.scalars(
                select(TemplateKeyRow).where(TemplateKeyRow.app_id == app_id).order_by(TemplateKeyRow.created_at)
            )
        )


def test_concurrent_first_use_makes_exactly_one_key(make_tenant: Any, runtime: Any) -> None:
    app_id = make_tenant("keys").app_id
    start = threading.Barrier(THREADS)

    def first_use(_: int) -> keystore.TemplateKey:
        start.wait()
        with runtime.transaction() as session:
            key = keystore.active_key(session, runtime.keyring, app_id, BITS, runtime.clock())
            time.sleep(0.05)  # hold the transaction open, as a request does: the window the race needs
        return key

    with ThreadPoolExecutor(THREADS) as pool:
        keys = list(pool.map(first_use, range(THREADS)))

    rows = _rows(runtime, app_id)
    assert len(rows) == 1 and rows[0].active
    assert {key.key_id for key in keys} == {rows[0].key_id}
    assert len({key.secret for key in keys}) == 1
    with runtime.transaction() as session:
        again = keystore.active_key(session, runtime.keyring, app_id, BITS, runtime.clock())
    assert again == keys[0]


def test_rotation_deactivates_the_old_key_and_activates_the_new(make_tenant: Any, runtime: Any) -> None:
    app_id = make_tenant("rotate").app_id
    with runtime.transaction() as session:
        first = keystore.active_key(session, runtime.keyring, app_id, BITS, runtime.clock())
    with runtime.transaction() as session:
        second = keystore.create_key(session, runtime.keyring, app_id, BITS, runtime.clock())
        assert keystore.active_key(session, runtime.keyring, app_id, BITS, runtime.clock()) == second
    assert second.key_id != first.key_id
    rows = {row.key_id: row.active for row in _rows(runtime, app_id)}
    assert rows == {first.key_id: False, second.key_id: True}
    with runtime.transaction() as session:  # the old key still opens its templates until re-issue
        assert keystore.key_by_id(session, runtime.keyring, app_id, first.key_id) == first
        assert keystore.active_key(session, runtime.keyring, app_id, BITS, runtime.clock()) == second


def test_concurrent_rotations_leave_one_active_key(make_tenant: Any, runtime: Any) -> None:
    app_id = make_tenant("rotations").app_id
    with runtime.transaction() as session:
        keystore.active_key(session, runtime.keyring, app_id, BITS, runtime.clock())
    threads = 4
    start = threading.Barrier(threads)

    def rotate(_: int) -> str:
        start.wait()
        with runtime.transaction() as session:
            return keystore.create_key(session, runtime.keyring, app_id, BITS, runtime.clock()).key_id

    with ThreadPoolExecutor(threads) as pool:
        made = set(pool.map(rotate, range(threads)))

    rows = _rows(runtime, app_id)
    assert len(rows) == 1 + threads and made <= {row.key_id for row in rows}
    assert sum(row.active for row in rows) == 1


def test_two_active_keys_for_one_app_are_refused(make_tenant: Any, runtime: Any) -> None:
    app_id = make_tenant("unique").app_id
    with runtime.transaction() as session:
        keystore.active_key(session, runtime.keyring, app_id, BITS, runtime.clock())
    with pytest.raises(IntegrityError), runtime.transaction() as session:
        row = session.scalar(select(TemplateKeyRow).where(TemplateKeyRow.app_id == app_id))
        assert row is not None
        session.add(
            TemplateKeyRow(
                key_id="tk-second",
                app_id=app_id,
                secret_enc=row.secret_enc,
                bits=BITS,
                active=True,
                created_at=row.created_at,
            )
        )
    with runtime.transaction() as session:
        count = session.scalar(select(func.count()).select_from(TemplateKeyRow).where(TemplateKeyRow.app_id == app_id))
    assert count == 1


def test_keys_keep_the_size_they_were_made_with(make_tenant: Any, runtime: Any) -> None:
    """An app whose key was made for 4096-bit templates keeps getting 4096-bit templates whatever
    the default size; a rotation makes a key of the current size (``template_bits``)."""
    from openkyc.biometrics.calibration import template_bits

    app_id = make_tenant("sizes").app_id
    with runtime.transaction() as session:
        old = keystore.active_key(session, runtime.keyring, app_id, 4096, runtime.clock())
    with runtime.transaction() as session:  # asked with another size: the existing key keeps its own
        again = keystore.active_key(session, runtime.keyring, app_id, template_bits("sface"), runtime.clock())
        assert again == old and again.bits == 4096
        assert keystore.key_by_id(session, runtime.keyring, app_id, old.key_id).bits == 4096
    with runtime.transaction() as session:
        new = keystore.create_key(session, runtime.keyring, app_id, template_bits("sface"), runtime.clock())
    assert new.bits == template_bits("sface") == 2048
    assert {row.key_id: row.bits for row in _rows(runtime, app_id)} == {old.key_id: 4096, new.key_id: 2048}


def test_keys_keep_the_version_they_were_made_with(make_tenant: Any, runtime: Any) -> None:
    """A key made before template version 2 (plain projections) stays plain: its stored templates
    keep matching; a rotation makes a key of the default version, and each row says its version."""
    from openkyc.biometrics.calibration import template_version
    from openkyc.biometrics.templates import PLAIN, SUPER_BIT

    app_id = make_tenant("versions").app_id
    with runtime.transaction() as session:
        old = keystore.active_key(session, runtime.keyring, app_id, BITS, runtime.clock())  # no version: plain
    assert old.version == PLAIN
    with runtime.transaction() as session:
        again = keystore.active_key(session, runtime.keyring, app_id, BITS, runtime.clock(), version=SUPER_BIT)
        assert again == old and keystore.key_by_id(session, runtime.keyring, app_id, old.key_id).version == PLAIN
    with runtime.transaction() as session:
        new = keystore.create_key(
            session, runtime.keyring, app_id, BITS, runtime.clock(), version=template_version("sface")
        )
    assert new.version == template_version("sface")
    assert {row.key_id: row.template_version for row in _rows(runtime, app_id)} == {
        old.key_id: PLAIN,
        new.key_id: template_version("sface"),
    }
