"""The client's address: the socket peer, or what trusted proxies say in ``X-Forwarded-For``.

``X-Forwarded-For`` is believed only when the socket peer is one of ``OPENKYC_TRUSTED_PROXIES``.
The addresses are then walked from the right (each proxy appends the address it received the
request from); the first one that is not itself a trusted proxy is the client. Anything left of
it was written by the client and could be forged. An entry that is not an IP address stops the
walk at the last trusted hop.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def client_address(peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str | None:
    """The address used for per-address limits and the call record."""
    if peer is None or not proxies:
        return peer
    current = _parse(peer)
    if current is None or not _trusted(current, proxies):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break
        current = address
        if not _trusted(address, proxies):
            break
    return str(current)
