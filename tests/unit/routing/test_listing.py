"""The windows a case list is read by: contiguous, in order, and never walking a gap."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from services.routing.case import CLOSED, DUE, OPEN_WITHOUT_DEADLINE, URGENCY_SPAN, urgency_key
from services.routing.listing import MIN_WIDTH, Hint, gaps, windows

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
