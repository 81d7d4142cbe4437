"""What each role may do: the one permission table the console and the management API check.

``owner`` and ``admin`` differ only outside this table: ``openkyc init`` makes the owner, and no
page shows identification fields or images to anyone (data-subject exports aside).

docs/console.md prints this table (a test compares them). API credentials act as ``admin`` of
their own account: they are held by the customer's back end, which already holds every key.
"""

from __future__ import annotations

from enum import StrEnum

from openkyc.errors import RoleNotAllowed

__all__ = ["API_ROLE", "PERMISSIONS", "Permission", "Role", "allowed", "require"]


class Permission(StrEnum):
    VIEW = "view"  # overview, configuration lists, usage, models, request lookup (redacted)
    MANAGE_APPS = "manage_apps"  # create/disable apps; create/rotate/disable credentials
    EDIT_RULES = "edit_rules"
    MANAGE_COLLECTIONS = "manage_collections"  # delete collections, replace subject photos
    VIEW_BILLS = "view_bills"
    VIEW_AUDIT = "view_audit"  # audit log, verify, record of processing, consents
    SUBJECT_REQUESTS = "subject_requests"  # data-subject export, erase, receipts
    REDELIVER_WEBHOOKS = "redeliver_webhooks"


_ALL = frozenset(Permission)
PERMISSIONS: dict[str, frozenset[Permission]] = {
    "owner": _ALL,
    "admin": _ALL,
    "developer": frozenset(
        {
            Permission.VIEW,
            Permission.EDIT_RULES,
            Permission.MANAGE_COLLECTIONS,
            Permission.REDELIVER_WEBHOOKS,
        }
    ),
    "auditor": frozenset({Permission.VIEW, Permission.VIEW_AUDIT, Permission.VIEW_BILLS}),
    "billing": frozenset({Permission.VIEW, Permission.VIEW_BILLS}),
}
API_ROLE = "admin"


def allowed(role: str, permission: Permission) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def require(role: str, permission: Permission) -> None:
    if not allowed(role, permission):
        raise RoleNotAllowed(f"The role {role!r} does not allow {permission.value!r}.")


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    AUDITOR = "auditor"
    BILLING = "billing"
