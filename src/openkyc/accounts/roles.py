"""Console user roles (a vocabulary of its own: the CLI names them without loading the service)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    AUDITOR = "auditor"
    BILLING = "billing"
