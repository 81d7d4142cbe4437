"""Subject rights over call records: the client address (IP) of calls that concerned the person.

Call records hold no subject id. A call is linked to a person through the verification results it
produced (each result keeps its call's RequestId) and, for hosted sessions, through the hosted
page's calls made from the same address while the session was open. The export lists those
records with their address; erasure removes the address (the record itself stays: it is the
billing and dispute trail, and without the address it no longer points at anyone). Offboarding
deletes the account's call records altogether.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, or_, select

from openkyc.privacy.datamap import covers_of, plain_of
from openkyc.privacy.reach import REACH, ColumnUse, EndUser, Found, ReachContext, Target, WholeAccount, deletion_time
from openkyc.privacy.vocabulary import Purpose, RetentionKind
from openkyc.store.models.diagnostics import CallRecord

__all__ = ["HOSTED_PREFIX", "CallRecordReach"]

HOSTED_PREFIX = "/verify/"
_USED_FOR = (Purpose.TROUBLESHOOTING, Purpose.BILLING)


@REACH.register
class CallRecordReach:
    name = "diagnostics.call_records"
    order = 90  # after the verification steps, which note the request ids and hosted windows
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="diagnostics.call_records")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("diagnostics.call_records")
    plain: Mapping[str, tuple[str, ...]] = plain_of("diagnostics.call_records")

    def _records(self, ctx: ReachContext, target: EndUser) -> list[CallRecord]:
        found: dict[str, CallRecord] = {}
        if ctx.request_ids:
            for row in ctx.session.scalars(
                select(CallRecord).where(
                    CallRecord.request_id.in_(sorted(ctx.request_ids)), CallRecord.app_id == target.app_id
                )
            ):
                found[row.request_id] = row
        addresses = {r.client_ip for r in found.values() if r.client_ip and r.route.startswith(HOSTED_PREFIX)}
        for app_id, opened, closed in ctx.hosted_windows:
            if not addresses:
                break
            for row in ctx.session.scalars(
                select(CallRecord).where(
                    or_(CallRecord.app_id == app_id, CallRecord.app_id.is_(None)),
                    CallRecord.route.startswith(HOSTED_PREFIX),
                    CallRecord.created_at >= opened,
                    CallRecord.created_at <= closed,
                    CallRecord.client_ip.in_(sorted(addresses)),
                )
            ):
                found[row.request_id] = row
        return sorted(found.values(), key=lambda r: (r.created_at, r.request_id))

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        if not isinstance(target, EndUser):
            return
        use = self.covers["call_records"]["client_ip"]
        for row in self._records(ctx, target):
            if row.client_ip is None:
                continue
            hosted = row.route.startswith(HOSTED_PREFIX)
            yield Found(
                table="call_records",
                column="client_ip",
                use=use,
                kind="call_record",
                source=(
                    "the end user's browser on the hosted page"
                    if hosted
                    else "the customer's system that made the signed call"
                ),
                purposes=ctx.purposes(use.element, use.category, _USED_FOR),
                value={
                    "request_id": row.request_id,
                    "action": row.action,
                    "route": row.route,
                    "status_code": row.status_code,
                    "client_ip": row.client_ip,
                },
                record=row.request_id,
                created_at=row.created_at,
                expires_at=deletion_time(ctx.policy, RetentionKind.CALL_RECORD, row.created_at),
                retention=RetentionKind.CALL_RECORD,
            )

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        if isinstance(target, WholeAccount):
            if not target.app_ids:
                return {"call_records": 0}
            result = ctx.session.execute(delete(CallRecord).where(CallRecord.app_id.in_(target.app_ids)))
            return {"call_records": int(getattr(result, "rowcount", 0) or 0)}
        if not isinstance(target, EndUser):
            return {}
        changed = 0
        for row in self._records(ctx, target):
            if row.client_ip is not None:
                row.client_ip = None
                changed += 1
        ctx.session.flush()
        return {"call_records_pseudonymised": changed}
