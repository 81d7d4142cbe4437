"""Retention of call records, the request log view of them, and client addresses (registered with the sweep).

One row of ``call_records`` serves two purposes with two periods. Billing keeps the record for
``call_record`` (2 years): request id, app, action, result and error codes, billable flag, time.
Troubleshooting reads it as the *request log* for ``request_log`` (30 days): after that
``GET /v1/requests/{id}`` answers not found (:func:`openkyc.diagnostics.requests.describe_request`)
and the sweep removes the credential that made the call. The client's IP address is kept in full
for ``client_address`` (30 days), then truncated to its network (IPv4 /24, IPv6 /48).
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import delete, select, update

from openkyc.privacy.steps import BATCH, SweepContext, register, rowcount
from openkyc.privacy.vocabulary import RetentionKind
from openkyc.store.models.diagnostics import CallRecord

__all__ = ["IPV4_PREFIX", "IPV6_PREFIX", "truncate_address"]

IPV4_PREFIX = 24
IPV6_PREFIX = 48


def truncate_address(value: str) -> str | None:
    """The network of an IP address (``203.0.113.0/24``, ``2001:db8:85a3::/48``); None if not an address.

    An already truncated value is returned unchanged, so the step is idempotent.
    """
    try:
        if "/" in value:
            return str(ipaddress.ip_network(value, strict=False))
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@register(RetentionKind.CALL_RECORD, "call_records")
def call_records(ctx: SweepContext) -> int:
    result = ctx.session.execute(
        delete(CallRecord)
        .where(CallRecord.created_at < ctx.cutoff(RetentionKind.CALL_RECORD))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


@register(RetentionKind.REQUEST_LOG, "request_logs")
def request_logs(ctx: SweepContext) -> int:
    """Past the request-log period a record is billing data only: the calling credential is removed.

    (The troubleshooting view itself stops answering at the same instant, whether or not a sweep ran.)
    """
    result = ctx.session.execute(
        update(CallRecord)
        .where(CallRecord.secret_id.is_not(None), CallRecord.created_at < ctx.cutoff(RetentionKind.REQUEST_LOG))
        .values(secret_id=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


@register(RetentionKind.CLIENT_ADDRESS, "client_addresses")
def client_addresses(ctx: SweepContext) -> int:
    """Truncate client addresses older than the period to their network (IPv4 /24, IPv6 /48)."""
    rows = ctx.session.execute(
        select(CallRecord.request_id, CallRecord.client_ip)
        .where(
            CallRecord.client_ip.is_not(None),
            CallRecord.client_ip.not_like("%/%"),
            CallRecord.created_at < ctx.cutoff(RetentionKind.CLIENT_ADDRESS),
        )
        .limit(BATCH)
    ).all()
    for request_id, client_ip in rows:
        ctx.session.execute(
            update(CallRecord)
            .where(CallRecord.request_id == request_id)
            .values(client_ip=truncate_address(client_ip or ""))
            .execution_options(synchronize_session=False)
        )
    return len(rows)
