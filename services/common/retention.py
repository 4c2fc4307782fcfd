"""Retention in the running service: what is done and past its keeping time goes on a schedule.

A service registers `Sweep`s (what expires, how long it is kept, the step that removes a bounded
batch of what is older) and the runtime runs them in one supervised loop, `retention`, every
`RETENTION_INTERVAL_SECONDS`: its state shows in `/readyz` as `loop:retention`, what it
removed in `retention_removed_total{what=...}`, and a sweep the database could not finish is
logged and tried again at the next pass. The steps are conditional writes, so replicas may run
the same sweep at once: each document goes (or is compacted) once.

Why a loop and not TTL indexes (which the embedded SecantusDB honours, as MongoDB does, with a
monitor pass every 60 s): what expires here is a field (an idempotency key), or a document
that must stay compacted (a closed deadline keeps its version so replayed events stay old),
or a document that expires only once finished (an alert with nothing left to deliver); and a
retention changed in the settings takes effect at the next pass, with no `collMod`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter

from services.common.clock import Clock
from services.common.errortext import describe
from services.common.mongo import TRANSIENT_MONGO_ERRORS
from services.common.runtime import raise_if_cancelling

log = logging.getLogger(__name__)

REMOVED = Counter(
    "retention_removed_total", "Documents removed, cleared or compacted past retention", ["what"]
)
BATCH = 500
MAX_BATCHES = 200  # per sweep and pass: a long backlog is worked off over several passes

# Removes (or clears, or compacts) at most `limit` items older than the cutoff; how many.
Step = Callable[[datetime, int], Awaitable[int]]


@dataclass(frozen=True)
class Sweep:
    """One kind of thing that expires: named for logs and metrics, kept `keep`."""

    what: str
    keep: timedelta
    step: Step


class RetentionLoop:
    """Runs every sweep every `every_seconds`."""

    def __init__(self, sweeps: Sequence[Sweep], *, clock: Clock, every_seconds: float) -> None:
        self.sweeps = list(sweeps)
        self.clock = clock
        self.every_seconds = every_seconds

    async def run(self) -> None:
        """Sweep until cancelled."""
        while True:
            await self.sweep_once()
            await asyncio.sleep(self.every_seconds)

    async def sweep_once(self) -> dict[str, int]:
        """One pass over every sweep; how many items each removed."""
        removed = {}
        for sweep in self.sweeps:
            try:
                removed[sweep.what] = await self._sweep(sweep)
            except TRANSIENT_MONGO_ERRORS as exc:
                raise_if_cancelling()
                log.warning(
                    "retention sweep paused", extra={"what": sweep.what, "error": describe(exc)}
                )
        return removed

    async def _sweep(self, sweep: Sweep) -> int:
        cutoff = self.clock() - sweep.keep
        total = 0
        for _ in range(MAX_BATCHES):
            count = await sweep.step(cutoff, BATCH)
            total += count
            REMOVED.labels(what=sweep.what).inc(count)
            if count < BATCH:
                break
        if total:
            log.info(
                "retention removed items",
                extra={"what": sweep.what, "count": total, "before": cutoff.isoformat()},
            )
        return total
