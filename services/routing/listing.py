"""Reading a page of cases one stretch of the urgency key at a time.

SecantusDB reads every document a query's range matches before it sorts and limits them, so a
list page read as one query (`urgency >= cursor`, most urgent first, 51 of them) costs time in
proportion to every case its index prefix holds: about 3 s for an agency holding 20,000 cases
(`python -m bench.case_list`). So a list read before is read again as a series of windows of
the urgency key, each a query bounded on both sides, until the page is full. What a list's
earlier read found says where to look (`Hint`, kept per list, that is per set of filters):

- where the list starts: the first page begins with the key its last first page began with
  (the most urgent case's key rarely moves: a due time is fixed, and newer cases sort later),
  read after one window for anything more urgent that came since;
- how wide a page is: windows start at twice the span of keys the last full page covered and
  double, so a page takes a window or two where cases are dense and a few more where they
  are sparse;
- whether the list is small: a list whose first page did not fill is read whole, in one
  query, as before.

The hints of the wider lists (an agency's or a reader's, unfiltered) are also stored, in
`list_hints`, when they change (at most once a minute each), so that after a restart or on
another replica the first read of a list goes by windows too.

Stretches of the key no case can plausibly have (due times or creation times more than 30
years from now, creation times in the future) are read in one window each, so the doubling
never walks through them. A list read for the first time goes by what its wider list (the
same agency's or reader's, unfiltered) found, when that was read here or stored; else it is
read whole, as before. A hint only decides where windows lie, never whether a case is read;
windows never overlap, so a page never reads more documents than the single query would; it
costs at most a few milliseconds more per window.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection

from services.common.clock import Clock
from services.routing.case import CLOSED, DUE, OPEN_WITHOUT_DEADLINE, URGENCY_END, urgency_key

log = logging.getLogger(__name__)

# Reads the documents with an urgency key in [start, end), most urgent first, at most `limit`.
Read = Callable[[int, int, int], Awaitable[list[dict[str, Any]]]]

MILLISECOND = timedelta(milliseconds=1)
MIN_WIDTH = timedelta(seconds=1) // MILLISECOND
FAR = timedelta(days=365 * 30)  # beyond this from now no case is due or was created
SKEW = timedelta(days=1)  # how far in the future a creation time may lie (another host's clock)
REMEMBERED = 256  # lists whose hint is kept
SAVE_EVERY = 60.0  # seconds: how often at most a wider list's hint is stored again


@dataclass(frozen=True)
class Hint:
    """What the last reads of a list found: the key its first page began with, and the width
    of key a page spans (None: the list is small, read it whole)."""

    first: int
    width: int | None


def gaps(now: datetime) -> list[tuple[int, int]]:
    """The stretches of the key no case can plausibly have, in order: due times and creation
    times more than `FAR` from now, creation times in the future."""
    return [
        (0, urgency_key(DUE, now - FAR)),
        (urgency_key(DUE, now + FAR), urgency_key(OPEN_WITHOUT_DEADLINE, now + SKEW)),
        (urgency_key(OPEN_WITHOUT_DEADLINE, now - FAR), urgency_key(CLOSED, now + SKEW)),
        (urgency_key(CLOSED, now - FAR), URGENCY_END),
    ]


def windows(start: int, end: int, now: datetime, hint: Hint) -> Iterator[tuple[int, int]]:
    """The windows covering [start, end) in key order: up to where the list began, then
    doubling from the hint's width, each stretch no case can have in one."""
    if hint.width is None:
        if start < end:
            yield start, end
        return
    position = start
    if position < hint.first:
        yield position, min(hint.first, end)
        position = hint.first
    width = hint.width
    skipped = gaps(now)
    while position < end:
        inside = next((high for low, high in skipped if low <= position < high), None)
        if inside is not None:
            step = inside
        else:
            ahead = min((low for low, _ in skipped if low > position), default=end)
            step = min(position + width, ahead)
            width *= 2
        step = min(step, end)
        yield position, step
        position = step


class HintStore(Protocol):
    """Where the wider lists' hints outlive the process."""

    async def load(self, key: str) -> Hint | None: ...

    async def save(self, key: str, hint: Hint) -> None: ...


@dataclass
class StoredHints:
    """The wider lists' hints in a collection, so that after a restart, or on another
    replica, a list is read by windows from its first read on."""

    collection: AsyncCollection[dict[str, Any]]
    clock: Clock

    async def load(self, key: str) -> Hint | None:
        """The hint stored for `key`, if any (a malformed one is none)."""
        doc = await self.collection.find_one({"_id": key})
        if doc is None:
            return None
        try:
            width = doc["width"]
            return Hint(first=int(doc["first"]), width=None if width is None else int(width))
        except (KeyError, TypeError, ValueError):
            log.warning("stored list hint unreadable; reading the list whole", extra={"key": key})
            return None

    async def save(self, key: str, hint: Hint) -> None:
        """Store the hint of `key`."""
        fields = {"first": hint.first, "width": hint.width, "at": self.clock()}
        await self.collection.update_one({"_id": key}, {"$set": fields}, upsert=True)


@dataclass
class PageReader:
    """Reads list pages, a whole range for a list not read before, by windows after."""

    stored: HintStore | None = None
    hints: OrderedDict[str, Hint] = field(default_factory=OrderedDict)
    # The wider lists asked of `stored`, and what was last stored of each, and when.
    _looked_up: set[str] = field(default_factory=set, init=False)
    _saved: dict[str, tuple[Hint, float]] = field(default_factory=dict, init=False)

    async def read(
        self,
        read: Read,
        *,
        start: int,
        end: int,
        want: int,
        now: datetime,
        lists: tuple[str, str],
        first_page: bool,
    ) -> list[dict[str, Any]]:
        """Up to `want` documents with a key in [start, end), most urgent first. `lists`: the
        list's key and that of the wider list it narrows (whose hint serves until it has its
        own); `first_page`: `start` is where the list begins (no cursor)."""
        list_key, wider = lists
        if list_key not in self.hints and wider not in self.hints:
            await self._look_up(wider)
        hint = self.hints.get(list_key) or self.hints.get(wider) or Hint(first=start, width=None)
        found: list[dict[str, Any]] = []
        for low, high in windows(start, end, now, hint):
            found.extend(await read(low, high, want - len(found)))
            if len(found) >= want:
                break
        learned = self._learned(hint, found, want=want, first_page=first_page)
        if learned is None and not found and first_page:
            self.hints.pop(list_key, None)  # empty now: read it whole (cheap) until it fills
        elif learned is not None:
            self._keep(list_key, learned)
            if learned.width is not None:  # a start for the lists narrowing it alike
                await self._widen(wider, learned)
        return found

    async def _look_up(self, wider: str) -> None:
        """Take the stored hint of `wider`, once per process."""
        if self.stored is None or wider in self._looked_up:
            return
        self._looked_up.add(wider)
        if len(self._looked_up) > REMEMBERED:
            self._looked_up.clear()  # looked up again, at worst
        if (hint := await self.stored.load(wider)) is not None:
            self._keep(wider, hint)
            self._saved[wider] = (hint, time.monotonic())

    async def _widen(self, wider: str, learned: Hint) -> None:
        """Keep the wider list's hint: where the earliest of its lists began, the width of the
        last one read; stored when it changed, at most once a minute."""
        known = self.hints.get(wider)
        first = learned.first if known is None else min(known.first, learned.first)
        hint = Hint(first=first, width=learned.width)
        self._keep(wider, hint)
        if self.stored is None:
            return
        saved, at = self._saved.get(wider, (None, -SAVE_EVERY))
        if hint != saved and time.monotonic() - at >= SAVE_EVERY:
            self._saved[wider] = (hint, time.monotonic())
            if len(self._saved) > REMEMBERED:
                self._saved.clear()
            await self.stored.save(wider, hint)

    @staticmethod
    def _learned(
        hint: Hint, found: list[dict[str, Any]], *, want: int, first_page: bool
    ) -> Hint | None:
        """Where the list begins (from a first page) and how wide a full page was; a first
        page that did not fill marks the list small. None: nothing new (an empty list, or a
        last page)."""
        if not found or (len(found) < want and not first_page):
            return None
        keys = [int(doc["urgency"]) for doc in found]
        first = keys[0] if first_page else hint.first
        width = max(2 * (keys[-1] - keys[0]), MIN_WIDTH) if len(found) >= want else None
        return Hint(first=first, width=width)

    def _keep(self, key: str, hint: Hint) -> None:
        self.hints[key] = hint
        self.hints.move_to_end(key)
        while len(self.hints) > REMEMBERED:
            self.hints.popitem(last=False)
