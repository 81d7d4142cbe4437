"""The client address: X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from openkyc.api.clients import client_address

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.1", ["198.51.100.1"], PROXIES, "203.0.113.1"),  # untrusted peer: header ignored
        ("10.0.0.1", ["198.51.100.1"], [], "10.0.0.1"),  # no proxies configured
        ("10.0.0.1", [], PROXIES, "10.0.0.1"),  # trusted peer without the header
        ("10.0.0.1", ["198.51.100.1"], PROXIES, "198.51.100.1"),
        ("10.0.0.1", ["6.6.6.6, 198.51.100.1"], PROXIES, "198.51.100.1"),  # forged left part skipped
        ("10.0.0.1", ["6.6.6.6, 198.51.100.1, 10.2.2.2"], PROXIES, "198.51.100.1"),  # proxy chain
        ("10.0.0.1", ["6.6.6.6", "198.51.100.1, 10.2.2.2"], PROXIES, "198.51.100.1"),  # repeated headers
        ("10.0.0.1", ["10.3.3.3, 10.2.2.2"], PROXIES, "10.3.3.3"),  # all trusted: the left-most
        ("10.0.0.1", ["198.51.100.1, junk"], PROXIES, "10.0.0.1"),  # garbage stops at the last trusted hop
        ("::ffff:10.0.0.1", ["198.51.100.1"], PROXIES, "198.51.100.1"),  # IPv4-mapped peer
        ("fd00::1", ["2001:db8::7"], PROXIES, "2001:db8::7"),
        ("testclient", ["198.51.100.1"], PROXIES, "testclient"),  # not an address: as is
        (None, ["198.51.100.1"], PROXIES, None),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], proxies: list[object], expected: str | None) -> None:
    assert client_address(peer, forwarded, proxies) == expected  # type: ignore[arg-type]
