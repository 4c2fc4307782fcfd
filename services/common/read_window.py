"""How far a loop working through a time-ordered backlog reads it in one round.

A relay takes the oldest documents of a backlog, a batch at a time, by a time field. A server
that reads every document a range matches before it sorts and limits them (SecantusDB, the
embedded default, does) makes each such round cost in proportion to the whole backlog:
taking 100 of 5,000 pending documents read all 5,000 (`python -m bench.read_window`). So
while a loop is behind, it reads only up to an end time chosen to hold about one batch:

- caught up (`end` is None), a round reads everything, which is little;
- a round that finds more than its batch in its range is behind: the next one reads up to
  the time of the last document it took plus a width (at first the time the batch spanned,
  then halved after every range that still held more than a batch);
- a round whose range held no more than its batch took all of it: the next range reaches a
  doubled width further, until it reaches the present and the loop is caught up again.

The range's start stays open (from the beginning of time): a document whose time lies
before the window's end, because it was written late or by a host whose clock is behind,
is still found, by the next round. So the window decides only how much a round reads, never
whether a document is read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# Reads up to an end time (inclusive or not, as the caller's range has it) at most `limit`
# documents, oldest first.
Read = Callable[[datetime, int], Awaitable[list[dict[str, Any]]]]

MIN_WIDTH = timedelta(milliseconds=10)


@dataclass
class ReadWindow:
    """Where the next round's read ends (None: nowhere, it reads all there is)."""

    end: datetime | None = None
    width: timedelta = MIN_WIDTH

    @property
    def caught_up(self) -> bool:
        """Whether the last round read to the present (so an idle loop may rest)."""
        return self.end is None

    def bound(self, latest: datetime) -> datetime:
        """The exclusive end of the next read, given the latest it would read when caught up."""
        return latest if self.end is None else min(self.end, latest)

    async def take(
        self, read: Read, *, field: str, size: int, latest: datetime, now: datetime
    ) -> list[dict[str, Any]]:
        """The oldest documents, up to `size`, that `read` finds up to the window's end (or
        `latest`, caught up), their time in `field`; the window moves on. A stretch of time
        with nothing in it is passed over, so nothing is returned only when caught up."""
        while True:
            read_all = self.caught_up
            found = await read(self.bound(latest), size + 1)  # one more: did it hold more?
            taken = self.took(found, field=field, size=size, now=now)
            if taken or read_all:
                return taken

    def took(
        self, found: list[dict[str, Any]], *, field: str, size: int, now: datetime
    ) -> list[dict[str, Any]]:
        """Of `found` (oldest first, read with room for one more than `size`), the documents
        a round takes; the window moves on, behind if there was more than it takes."""
        taken = found[:size]
        self.advance([doc[field] for doc in taken], full=len(found) > size, now=now)
        return taken

    def advance(self, taken: Sequence[datetime], *, full: bool, now: datetime) -> None:
        """Move on after a round that took documents of these times (oldest first); `full`:
        its range held more than it took."""
        if full and taken:
            spanned = taken[-1] - taken[0] if self.end is None else self.width / 2
            self.width = max(spanned, MIN_WIDTH)
            self.end = taken[-1] + self.width
        elif self.end is not None:
            if self.end >= now:
                self.reset()
            else:
                self.width *= 2
                self.end += self.width

    def reset(self) -> None:
        """Read everything again (another loop took over, or the backlog is gone)."""
        self.end, self.width = None, MIN_WIDTH
