"""The client address behind proxies: the first untrusted hop from the right of
X-Forwarded-For, never an entry the client wrote itself."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from services.intake.security import TrustedProxies, first_untrusted_hop

pytestmark = pytest.mark.unit

PROXIES = TrustedProxies((ip_network("10.0.0.0/8"), ip_network("fd00::/8")))


def hops(peer: str, forwarded: str) -> list[str]:
    """The hops from the right: the peer, then X-Forwarded-For's entries right to left."""
    return [peer, *reversed([h.strip() for h in forwarded.split(",") if h.strip()])]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # one trusted proxy: what it appended is the client, whatever the client wrote before
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.5", "1.2.3.4, 5.6.7.8, 203.0.113.7", "203.0.113.7"),
        # two trusted proxies in a row
        ("10.0.0.5", "1.2.3.4, 203.0.113.7, 10.1.1.1", "203.0.113.7"),
        # IPv6, in brackets or not
        ("fd00::1", "2001:db8::7", "2001:db8::7"),
        ("10.0.0.5", "[2001:db8::9]", "2001:db8::9"),
        # every hop trusted: the leftmost one
        ("10.0.0.5", "10.2.2.2", "10.2.2.2"),
        # not an address where the client should be: the last hop that was one
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),
        ("10.0.0.5", "", "10.0.0.5"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str, forwarded: str, client: str
) -> None:
    assert first_untrusted_hop(hops(peer, forwarded), PROXIES) == client


def test_trusting_the_peer_believes_its_entry_only() -> None:
    one_proxy = TrustedProxies(peer=True)
    assert first_untrusted_hop(hops("192.0.2.1", "1.1.1.1, 203.0.113.7"), one_proxy) == (
        "203.0.113.7"
    )
    assert one_proxy.trusts("192.0.2.1") and not one_proxy.trusts("192.0.2.1", immediate=False)


def test_nothing_trusted_means_the_peer() -> None:
    nobody = TrustedProxies()
    assert not nobody.trusts("127.0.0.1")
    assert first_untrusted_hop(hops("198.51.100.4", "1.1.1.1"), nobody) == "198.51.100.4"
