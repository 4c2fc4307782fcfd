"""The deadline scanner: wakes at least every interval, claims what is due, sleeps until next.

It learns when to look next from the store. A scan that is caught up reads, in one command,
the alerts due now and the first one due within the interval after them; a scan that is behind
asks for the earliest one separately before the scanner sleeps. Meanwhile the scanner is told
when a deadline written here falls due (`wake_at`: a case event stored, a claim), which
shortens the sleep without a look-up. A deadline another replica wrote is found by this
scanner's next look-up: at the latest one interval later. While many alerts are overdue
(after an outage, in a burst), each scan reads only about one batch of them
(services.common.read_window).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.common.clock import Clock
from services.common.errortext import describe
from services.common.gauges import keep_counting
from services.common.mongo import TRANSIENT_MONGO_ERRORS
from services.common.read_window import ReadWindow
from services.common.runtime import raise_if_cancelling, woken
from services.notify import telemetry
from services.notify.deadlines import NEXT_DUE, DeadlineStore

log = logging.getLogger(__name__)

GAUGE_EVERY_SECONDS = 30.0


class Scanner:
    """Claims due escalations; several scanners (replicas) may run against one store."""

    def __init__(
        self,
        store: DeadlineStore,
        *,
        clock: Clock,
        interval: float,
        batch: int,
        on_claimed: Callable[[], None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.interval = interval
        self.batch = batch
        self.on_claimed = on_claimed
        self._wake = asyncio.Event()
        self._next: datetime | None = None  # when the coming sleep ends (None while scanning)
        self._window = ReadWindow()  # how far the next scan reads the overdue alerts
        # When the first alert after the last scan's falls due, if that scan's read said (None:
        # none within the interval); `_upcoming_read` is False when it could not say.
        self._upcoming: datetime | None = None
        self._upcoming_read = False

    @property
    def caught_up(self) -> bool:
        """Whether the last scan read up to now (rather than only the most overdue alerts)."""
        return self._window.caught_up

    def wake_at(self, due: datetime) -> None:
        """A deadline falls due at `due`: look then, if that is before the planned look."""
        if self._next is None or due < self._next:
            self._next = due
            self._wake.set()

    async def run(self) -> None:
        """Scan until cancelled; a database outage pauses the scanner, it never stops it."""
        while True:
            try:
                _claimed, found = await self.scan_once()
                if found < self.batch and self.caught_up:
                    await self._sleep(await self._pause())
            except TRANSIENT_MONGO_ERRORS as exc:
                raise_if_cancelling()
                log.warning("deadline scan failed; retrying", extra={"error": describe(exc)})
                await asyncio.sleep(self.interval)

    async def scan_once(self) -> tuple[int, int]:
        """Claim every due alert (up to a batch); return (claimed, found due)."""
        # Cleared before reading, not before sleeping: a wake that arrives while this scan
        # and the pause look-up are under way must cut the coming sleep short.
        self._wake.clear()
        self._next = None
        started = time.perf_counter()
        now = self.clock()
        if self._window.caught_up:
            due = await self._due_and_upcoming(now)
        else:
            self._upcoming_read = False
            due = await self._window.take(
                self.store.due, field=NEXT_DUE, size=self.batch, latest=now, now=now
            )
        claimed = await self.store.claim(due, now) if due else 0
        telemetry.SCAN_DURATION.observe(time.perf_counter() - started)
        if claimed:
            log.info("escalations claimed", extra={"count": claimed})
            self.on_claimed()
        return claimed, len(due)

    async def _due_and_upcoming(self, now: datetime) -> list[dict[str, Any]]:
        """Caught up: one read of the alerts due within the interval. Returns those due now (up
        to a batch) and keeps when the first after them falls due, for the pause."""
        horizon = now + timedelta(seconds=self.interval)
        found = await self.store.due(horizon, self.batch + 1)
        due = [doc for doc in found if doc[NEXT_DUE] <= now]
        later = [doc[NEXT_DUE] for doc in found if doc[NEXT_DUE] > now]
        # A read that filled up with alerts due now says nothing of those after them.
        self._upcoming_read = bool(later) or len(found) <= self.batch
        self._upcoming = later[0] if later else None
        return self._window.took(due, field=NEXT_DUE, size=self.batch, now=now)

    async def _pause(self) -> float:
        """Seconds until the next alert falls due, never more than the interval."""
        now = self.clock()
        upcoming = self._upcoming
        if not self._upcoming_read:
            upcoming = await self.store.next_due_before(now + timedelta(seconds=self.interval))
        if upcoming is None:
            return self.interval
        return min(max((upcoming - now).total_seconds(), 0.0), self.interval)

    async def _sleep(self, seconds: float) -> None:
        """Sleep `seconds`, or less if `wake_at` names an earlier time (also while scanning)."""
        until = self.clock() + timedelta(seconds=seconds)
        if self._next is None or until < self._next:
            self._next = until
        while (left := (self._next - self.clock()).total_seconds()) > 0:
            if not await woken(self._wake, seconds=left):
                return
            self._wake.clear()

    async def track_open_deadlines(self, every_seconds: float = GAUGE_EVERY_SECONDS) -> None:
        """Keep the open-deadlines gauge current (a count over the whole index, so rarely, and
        less often still while it takes long)."""
        await keep_counting(self._count_open, every=every_seconds, what="open deadlines")

    async def _count_open(self) -> None:
        telemetry.OPEN_DEADLINES.set(await self.store.open_deadlines())
