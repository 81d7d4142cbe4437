"""Public identifiers: numeric account ids (UIN) and APPIDs, SecretIds, resource ids."""

from __future__ import annotations

import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def numeric_id() -> int:
    """A random 10-digit number (accounts and apps)."""
    return 1_000_000_000 + secrets.randbelow(9_000_000_000)


def secret_id() -> str:
    return "AKID" + "".join(secrets.choice(_ALNUM) for _ in range(32))


def secret_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(40))


def resource_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"
