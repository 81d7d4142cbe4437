"""Subject rights over the customer's own people and the account itself.

* A console user (:class:`~openkyc.privacy.reach.StaffUser`): the export holds the user row and
  the audit records the user acted in (named by :func:`~openkyc.privacy.reach.staff_reference`,
  never by user name); erasure deletes the user row. The audit log is not touched: it never held
  the name, and without the row its pseudonym points at nobody.
* Offboarding (:class:`~openkyc.privacy.reach.WholeAccount`): after the other steps removed the
  apps' personal data, this step deletes credentials, rules, resources, collections, keys and the
  apps, the users, then the account. The audit log and erasure receipts stay (no personal data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select

from openkyc.privacy.datamap import covers_of, plain_of
from openkyc.privacy.reach import (
    REACH,
    ColumnUse,
    Found,
    ReachContext,
    StaffUser,
    Target,
    WholeAccount,
    staff_reference,
)
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.accounts import Account, App, Credential, Resource, User
from openkyc.store.models.config import Rule, RuleChange
from openkyc.store.models.faces import Collection, TemplateKeyRow
from openkyc.store.models.privacy import AuditRecord
from openkyc.store.models.verification import ReflectSequenceRow

__all__ = ["AccountReach", "StaffReach"]

_STAFF = (Purpose.PROVIDE_FEATURES, Purpose.MAINTAIN_CONFIGURATION, Purpose.TROUBLESHOOTING)
_SOURCE = "created by the account's administrator (openkyc init / openkyc users create)"


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


@REACH.register
class StaffReach:
    name = "accounts.staff"
    order = 95
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="accounts.staff")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("accounts.staff")
    plain: Mapping[str, tuple[str, ...]] = plain_of("accounts.staff")

    def _users(self, ctx: ReachContext, target: Target) -> list[User]:
        if isinstance(target, StaffUser):
            query = select(User).where(User.account_id == target.account_id, User.id == target.user_id)
        elif isinstance(target, WholeAccount):
            query = select(User).where(User.account_id == target.account_id)
        else:
            return []
        return list(ctx.session.scalars(query.order_by(User.id)))

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        if not isinstance(target, StaffUser):
            return
        for user in self._users(ctx, target):
            values: dict[str, Any] = {
                "id": {"user_id": user.id, "account_id": user.account_id, "role": user.role, "disabled": user.disabled},
                "user_name": {"user_name": user.user_name},
                # a copy of the hash would only help an attacker: the export says it is held, and how
                "password_hash": {"password_hash": "held as an argon2id hash (not disclosed)"},
            }
            for column, value in values.items():
                use = self.covers["users"][column]
                yield Found(
                    table="users",
                    column=column,
                    use=use,
                    kind="staff_user",
                    source=_SOURCE,
                    purposes=ctx.purposes(use.element, use.category, _STAFF),
                    value=value,
                    record=str(user.id),
                    created_at=user.created_at,
                    expires_at=None,  # kept while the user or the account exists
                )
            actor = staff_reference(ctx.salt, user.account_id, user.id)
            use = self.covers["audit_log"]["actor"]
            for record in ctx.session.scalars(
                select(AuditRecord).where(AuditRecord.actor == actor).order_by(AuditRecord.seq)
            ):
                yield Found(
                    table="audit_log",
                    column="actor",
                    use=use,
                    kind="audit_record",
                    source="the audit log (actions taken by this user)",
                    purposes=ctx.purposes(use.element, use.category, (Purpose.MAINTAIN_CONFIGURATION,)),
                    value={"seq": record.seq, "actor": actor, "event_type": record.event_type, "app_id": record.app_id},
                    record=str(record.seq),
                    created_at=record.created_at,
                    expires_at=None,
                )

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        if not isinstance(target, StaffUser | WholeAccount):
            return {}
        users = ctx.delete_rows(self._users(ctx, target))
        return {"users": len(users)}


@REACH.register
class AccountReach:
    """Offboarding only: the account's configuration and the account itself (no export step:
    the customer holds this data in its own console; its people are exported by user)."""

    name = "accounts.account"
    order = 100  # last: deleting apps cascades to anything a step above did not remove
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="accounts.account")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("accounts.account")
    plain: Mapping[str, tuple[str, ...]] = plain_of("accounts.account")

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        return ()

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        if not isinstance(target, WholeAccount):
            return {}
        apps = tuple(target.app_ids)
        counts: dict[str, int] = {}
        session = ctx.session
        if apps:
            rule_ids = select(Rule.id).where(Rule.app_id.in_(apps))
            counts["rule_versions"] = _count(
                session.execute(delete(RuleChange).where(RuleChange.rule_id.in_(rule_ids)))
            )
            counts["rules"] = _count(session.execute(delete(Rule).where(Rule.app_id.in_(apps))))
            counts["collections"] = _count(session.execute(delete(Collection).where(Collection.app_id.in_(apps))))
            session.execute(delete(TemplateKeyRow).where(TemplateKeyRow.app_id.in_(apps)))
            session.execute(delete(ReflectSequenceRow).where(ReflectSequenceRow.app_id.in_(apps)))
            session.execute(delete(Resource).where(Resource.app_id.in_(apps)))
            counts["credentials"] = _count(session.execute(delete(Credential).where(Credential.app_id.in_(apps))))
            counts["apps"] = _count(session.execute(delete(App).where(App.id.in_(apps))))
        counts["accounts"] = _count(session.execute(delete(Account).where(Account.id == target.account_id)))
        session.flush()
        return counts
