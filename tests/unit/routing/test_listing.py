"""The windows a case list is read by: contiguous, in order, and never walking a gap."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from services.routing.case import CLOSED, DUE, OPEN_WITHOUT_DEADLINE, URGENCY_SPAN, urgency_key
from services.routing.listing import MIN_WIDTH, Hint, PageReader, gaps, windows

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
END = (CLOSED + 1) * URGENCY_SPAN


def covered(start: int, end: int, hint: Hint) -> list[tuple[int, int]]:
    found = list(windows(start, end, NOW, hint))
    assert found[0][0] == start and found[-1][1] == end
    assert all(low < high for low, high in found)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(found))  # no gap, no overlap
    return found


def test_a_small_list_is_read_in_one_window() -> None:
    assert list(windows(0, END, NOW, Hint(first=5, width=None))) == [(0, END)]
    assert list(windows(7, 7, NOW, Hint(first=5, width=None))) == []


def test_a_list_is_read_up_to_where_it_began_then_by_doubling_windows() -> None:
    first = urgency_key(DUE, NOW - timedelta(days=30))
    hour = timedelta(hours=1) // timedelta(milliseconds=1)
    found = covered(0, END, Hint(first=first, width=hour))
    assert found[0] == (0, first)
    assert found[1] == (first, first + hour)
    assert found[2] == (first + hour, first + 3 * hour)
    # Each stretch no case can have is one window, so the whole key takes few reads.
    for low, high in gaps(NOW)[1:]:
        assert (low, high) in found
    assert len(found) < 80


def test_a_page_after_a_cursor_starts_at_it_and_stops_at_the_end_asked() -> None:
    first = urgency_key(DUE, NOW - timedelta(days=30))
    start = urgency_key(DUE, NOW)
    end = urgency_key(OPEN_WITHOUT_DEADLINE, NOW - timedelta(days=2))
    found = covered(start, end, Hint(first=first, width=MIN_WIDTH))
    assert found[0] == (start, start + MIN_WIDTH)


def test_a_start_inside_a_gap_reads_to_its_end_first() -> None:
    low, high = gaps(NOW)[2]
    found = covered(low + 5, END, Hint(first=0, width=MIN_WIDTH))
    assert found[0] == (low + 5, high)


class Store:
    """Hints kept as a database would keep them."""

    def __init__(self) -> None:
        self.kept: dict[str, Hint] = {}
        self.loads = 0

    async def load(self, key: str) -> Hint | None:
        self.loads += 1
        return self.kept.get(key)

    async def save(self, key: str, hint: Hint) -> None:
        self.kept[key] = hint


async def test_a_reader_starting_afresh_reads_by_the_hints_another_stored() -> None:
    keys = sorted(urgency_key(DUE, NOW + timedelta(minutes=7 * n)) for n in range(-30, 30))
    docs = [{"urgency": key} for key in keys]
    reads: list[tuple[int, int]] = []

    async def read(low: int, high: int, limit: int) -> list[dict[str, Any]]:
        reads.append((low, high))
        return [doc for doc in docs if low <= doc["urgency"] < high][:limit]

    async def first_page(reader: PageReader, lists: tuple[str, str]) -> list[dict[str, Any]]:
        return await reader.read(
            read, start=0, end=END, want=11, now=NOW, lists=lists, first_page=True
        )

    store = Store()
    before = PageReader(stored=store)
    assert await first_page(before, ("police, open", "police")) == docs[:11]
    assert reads == [(0, END)]  # read whole the first time
    assert store.kept["police"] == Hint(first=keys[0], width=2 * (keys[10] - keys[0]))
    reads.clear()
    after = PageReader(stored=store)  # a restart, or another replica
    assert await first_page(after, ("police, assigned", "police")) == docs[:11]
    assert reads[0] == (0, keys[0]) and len(reads) <= 3  # by windows from the first read
    await first_page(after, ("police, acknowledged", "police"))
    assert store.loads == 2  # looked up once by each reader, not on every read
