"""Key rotations by another process reach a running keyring without a restart."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from openkyc.privacy.crypto import DecryptionError, MasterKey, new_key
from openkyc.runtime import Runtime
from openkyc.store.keys import create_data_key, load_keyring, rewrap_data_keys
from openkyc.store.live_keyring import LiveKeyring, sealed_key_id


def _other_process(settings: Any) -> Runtime:
    """A second runtime on the same database: what an ``openkyc keys ...`` command opens."""
    return Runtime.open(settings, migrate=False)


def test_a_data_key_rotated_elsewhere_is_loaded_on_first_sight(runtime: Any, settings: Any) -> None:
    before = runtime.keyring.active_id
    other = _other_process(settings)
    with other.transaction() as session:
        new_id = create_data_key(session, other.master_key)
    with other.transaction() as session:
        sealed = load_keyring(session, other.master_key).encrypt(b"template key", b"aad")
    other.close()
    assert sealed_key_id(sealed) == new_id and new_id not in runtime.keyring.keys
    assert runtime.keyring.decrypt(sealed, b"aad") == b"template key"
    assert runtime.keyring.active_id == new_id != before  # new writes move to the rotated key
    with pytest.raises(DecryptionError):
        runtime.keyring.decrypt(sealed, b"other aad")


def test_concurrent_readers_share_one_reload(runtime: Any, settings: Any) -> None:
    other = _other_process(settings)
    with other.transaction() as session:
        create_data_key(session, other.master_key)
    with other.transaction() as session:
        sealed = load_keyring(session, other.master_key).encrypt(b"x", b"aad")
    other.close()
    reloads = runtime.keyring.reloads
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: runtime.keyring.decrypt(sealed, b"aad"), range(32)))
    assert results == [b"x"] * 32
    assert runtime.keyring.reloads == reloads + 1


def test_an_unknown_key_id_still_fails_cleanly(runtime: Any) -> None:
    sealed = runtime.keyring.encrypt(b"x", b"aad")
    forged = sealed[:3] + b"dk-" + b"f" * (sealed[2] - 3) + sealed[3 + sealed[2] :]
    reloads = runtime.keyring.reloads
    with pytest.raises(DecryptionError):
        runtime.keyring.decrypt(forged, b"aad")
    assert runtime.keyring.reloads == reloads + 1  # looked for it once, then refused
    with pytest.raises(DecryptionError):
        runtime.keyring.decrypt(b"K1\xff\x00", b"aad")  # malformed: no reload, a clean refusal


def test_master_rotated_elsewhere_is_read_again(runtime: Any) -> None:
    old = runtime.master_key
    new = MasterKey(new_key())
    masters = {"current": old}
    keyring = LiveKeyring(runtime.keyring, runtime.sessions, old, lambda: masters["current"])
    with runtime.transaction() as session:
        rewrap_data_keys(session, old, new)  # keys rotate-master in another process ...
        new_id = create_data_key(session, new)  # ... then keys rotate-data under the new master
    masters["current"] = new  # the key file now holds the new master
    with runtime.transaction() as session:
        sealed = load_keyring(session, new).encrypt(b"after both", b"aad")
    assert keyring.decrypt(sealed, b"aad") == b"after both"
    assert keyring.master.key_id == new.key_id and keyring.active_id == new_id


def test_writes_move_to_the_rotated_key_after_the_refresh_interval(runtime: Any) -> None:
    now = [0.0]
    keyring = LiveKeyring(
        runtime.keyring,
        runtime.sessions,
        runtime.master_key,
        lambda: runtime.master_key,
        refresh_seconds=60,
        monotonic=lambda: now[0],
    )
    with runtime.transaction() as session:
        new_id = create_data_key(session, runtime.master_key)
    assert sealed_key_id(keyring.encrypt(b"x", b"a")) != new_id  # within the interval: the old key
    now[0] = 61.0
    assert sealed_key_id(keyring.encrypt(b"x", b"a")) == new_id
