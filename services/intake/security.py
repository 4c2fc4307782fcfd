"""Protection of the public endpoints: a per-client rate limit."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import web

from services.intake.settings import IntakeSettings


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per client: `burst` requests at once, refilled at `per_minute`."""

    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        monotonic: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.monotonic = monotonic
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def check(self, client: str) -> float:
        """Take one request for `client`; return 0 if allowed, else seconds until allowed."""
        now = self.monotonic()
        bucket = self._buckets.pop(client, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[client] = bucket
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    @staticmethod
    def retry_after_header(wait_seconds: float) -> str:
        """Whole seconds for the Retry-After header (at least 1)."""
        return str(max(1, math.ceil(wait_seconds)))


def client_address(request: web.Request, *, trusted: TrustedProxies) -> str:
    """The client's address: the peer's, or behind trusted proxies the first untrusted hop from
    the right of X-Forwarded-For (the entries left of it are whatever the client wrote); the
    rate limit counts by it and a reporter without contact is known by it."""
    peer = request.remote or "unknown"
    if not trusted.trusts(peer):
        return peer
    forwarded = ",".join(request.headers.getall("X-Forwarded-For", ()))
    return first_untrusted_hop([peer, *reversed(_hops(forwarded))], trusted)


@dataclass(frozen=True)
class TrustedProxies:
    """The proxies whose X-Forwarded-For entries are believed; `peer` trusts the immediate peer
    (one proxy in front, whatever its address)."""

    networks: tuple[IPv4Network | IPv6Network, ...] = ()
    peer: bool = False

    def trusts(self, address: str, *, immediate: bool = True) -> bool:
        """Whether `address` is a trusted proxy (`immediate`: it is the connection's peer)."""
        if self.peer and immediate:
            return True
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.networks)


def trusted_proxies(settings: IntakeSettings) -> TrustedProxies:
    """The proxies whose X-Forwarded-For entries intake believes, from its settings."""
    return TrustedProxies(tuple(settings.trusted_proxies), peer=settings.trust_forwarded_for)


def first_untrusted_hop(hops_from_right: list[str], trusted: TrustedProxies) -> str:
    """The first hop, from the right, that is not a trusted proxy (the last valid one when every
    hop is trusted or the next is not an address)."""
    client = hops_from_right[0]
    for position, hop in enumerate(hops_from_right):
        if (ip := _ip(hop)) is None:
            break
        client = str(ip)
        if not trusted.trusts(hop, immediate=position == 0):
            break
    return client


def _hops(forwarded: str) -> list[str]:
    return [hop.strip() for hop in forwarded.split(",") if hop.strip()]


def _ip(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip("[]"))
    except ValueError:
        return None
