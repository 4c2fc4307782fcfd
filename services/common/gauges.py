"""Gauges kept current by counting in the database, never at more than a small share of its time.

A count walks everything it counts: an outbox's backlog after a broker outage (every report
accepted meanwhile), every open deadline. So the loop that keeps such a gauge counts every
few seconds while a count is quick, and less often as it grows slow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from services.common.errortext import describe
from services.common.mongo import TRANSIENT_MONGO_ERRORS
from services.common.runtime import raise_if_cancelling

log = logging.getLogger(__name__)

# At most this share of the time goes to counting (as the counting loop sees it).
SHARE = 0.02


def pause_after(took: float, every: float, share: float = SHARE) -> float:
    """Seconds to wait before counting again after a count that took `took` seconds: `every`,
    or longer, so that counting takes at most `share` of the time."""
    return max(every, took * (1 - share) / share)


async def keep_counting(
    count: Callable[[], Awaitable[object]], *, every: float, what: str, share: float = SHARE
) -> None:
    """Run `count` (which sets its gauge) until cancelled, pausing `pause_after` between counts.
    While the database is away a count is skipped and the gauge keeps its value."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await count()
        except TRANSIENT_MONGO_ERRORS as exc:
            raise_if_cancelling()
            log.warning(
                "could not count; the gauge keeps its value",
                extra={"gauge": what, "error": describe(exc)},
            )
        await asyncio.sleep(pause_after(loop.time() - started, every, share))
