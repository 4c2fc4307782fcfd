"""Protection of the public endpoints: a per-client rate limit."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web


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


def client_address(request: web.Request, *, trust_forwarded_for: bool) -> str:
    """The client's address: from X-Forwarded-For when trusted (behind a proxy), else the
    peer's; the rate limit counts by it and a reporter without contact is known by it."""
    forwarded = request.headers.get("X-Forwarded-For") if trust_forwarded_for else None
    return (forwarded.split(",")[0].strip() if forwarded else None) or request.remote or "unknown"
