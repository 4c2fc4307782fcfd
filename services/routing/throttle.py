"""A small in-process limit on how often one client address may try to sign in: a token
bucket per address (at most `max_clients` remembered, the least recently seen forgotten)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class Throttle:
    """`per_minute` attempts per client address, refilled steadily; `check` takes one."""

    def __init__(
        self,
        per_minute: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.burst = float(per_minute)
        self.rate = per_minute / 60.0
        self.monotonic = monotonic
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when

    def check(self, client: str) -> int:
        """Take one attempt for `client`: 0 when allowed, else whole seconds to wait."""
        now = self.monotonic()
        tokens, then = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        allowed = tokens >= 1
        self._buckets[client] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return 0 if allowed else max(1, math.ceil((1 - tokens) / self.rate))
