from __future__ import annotations

from pathlib import Path

import pytest

from openkyc.privacy.crypto import (
    DecryptionError,
    Keyring,
    MasterKey,
    new_key,
    read_master_key_file,
    write_master_key_file,
)


def test_round_trip_and_associated_data() -> None:
    ring = Keyring(active_id="k1", keys={"k1": new_key()})
    token = ring.encrypt_text("ANNA MARIA", b"subject:1:name")
    assert b"ANNA" not in token
    assert ring.decrypt_text(token, b"subject:1:name") == "ANNA MARIA"
    with pytest.raises(DecryptionError) as info:
        ring.decrypt(token, b"subject:2:name")
    assert info.value.error_code == "InternalError.DecryptionFailed"


def test_rotation_keeps_old_keys_readable() -> None:
    old, new = new_key(), new_key()
    token = Keyring(active_id="k1", keys={"k1": old}).encrypt(b"x", b"a")
    rotated = Keyring(active_id="k2", keys={"k1": old, "k2": new})
    assert rotated.decrypt(token, b"a") == b"x"
    assert rotated.encrypt(b"x", b"a")[3:5] == b"k2"


def test_master_key_file_and_wrapping(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    master = write_master_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        write_master_key_file(path)
    assert read_master_key_file(path).key_id == master.key_id
    data_key = new_key()
    assert master.unwrap("dk1", master.wrap("dk1", data_key)) == data_key
    with pytest.raises(DecryptionError):
        MasterKey(new_key()).unwrap("dk1", master.wrap("dk1", data_key))
    assert master.key.hex() not in repr(master)
