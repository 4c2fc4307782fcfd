"""How far a round reads a time-ordered backlog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.read_window import MIN_WIDTH, ReadWindow

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def test_caught_up_a_round_reads_everything() -> None:
    window = ReadWindow()
    assert window.caught_up
    assert window.bound(LATEST) == LATEST
    window.advance([seconds(0), seconds(1)], full=False, now=seconds(5))
    assert window.caught_up, "a round that took all it found stays caught up"


def test_a_full_round_ends_the_next_read_one_batch_span_past_its_last_document() -> None:
    window = ReadWindow()
    window.advance([seconds(0), seconds(1), seconds(2)], full=True, now=seconds(60))
    assert not window.caught_up
    assert window.bound(LATEST) == seconds(4), "its last document (2 s) plus what it spanned"
    assert window.bound(seconds(3)) == seconds(3), "never past the latest the caller reads"


def test_a_window_that_still_held_more_than_a_batch_halves() -> None:
    window = ReadWindow()
    window.advance([seconds(0), seconds(4)], full=True, now=seconds(60))
    window.advance([seconds(5), seconds(6)], full=True, now=seconds(60))
    assert window.width == timedelta(seconds=2)
    assert window.bound(LATEST) == seconds(8)


def test_a_window_that_held_no_more_than_a_batch_doubles_until_it_reaches_the_present() -> None:
    window = ReadWindow()
    window.advance([seconds(0), seconds(1)], full=True, now=seconds(10))
    assert window.bound(LATEST) == seconds(2)
    window.advance([seconds(1.5)], full=False, now=seconds(10))
    assert window.bound(LATEST) == seconds(4)
    window.advance([], full=False, now=seconds(10))
    assert window.bound(LATEST) == seconds(8)
    window.advance([], full=False, now=seconds(10))
    assert window.bound(LATEST) == seconds(16)
    window.advance([], full=False, now=seconds(10))
    assert window.caught_up, "its end passed the present: the next round reads everything"


def test_documents_of_one_instant_give_the_narrowest_window() -> None:
    window = ReadWindow()
    window.advance([seconds(1)] * 3, full=True, now=seconds(60))
    assert window.width == MIN_WIDTH
    assert window.bound(LATEST) == seconds(1) + MIN_WIDTH
    window.advance([seconds(1)] * 3, full=True, now=seconds(60))
    assert window.width == MIN_WIDTH, "never narrower"


def test_reset_reads_everything_again() -> None:
    window = ReadWindow()
    window.advance([seconds(0), seconds(1)], full=True, now=seconds(60))
    window.reset()
    assert window.caught_up
    assert window.bound(LATEST) == LATEST


class Backlog:
    """Documents by time; `read` answers as a range read sorted and limited would."""

    def __init__(self, *times: datetime) -> None:
        self.docs = [{"at": t} for t in times]
        self.reads: list[datetime] = []

    async def read(self, end: datetime, limit: int) -> list[dict[str, Any]]:
        self.reads.append(end)
        return sorted((d for d in self.docs if d["at"] < end), key=lambda d: d["at"])[:limit]


async def test_take_returns_nothing_only_after_a_read_of_everything() -> None:
    window = ReadWindow()
    window.advance([seconds(0), seconds(1)], full=True, now=seconds(10))
    ahead = Backlog(seconds(3600))  # nothing until an hour from now (a clock ahead)
    found = await window.take(ahead.read, field="at", size=2, latest=LATEST, now=seconds(10))
    assert found == ahead.docs, "the empty stretch up to the present is passed over"
    assert ahead.reads[-1] == LATEST
    assert (
        await window.take(Backlog().read, field="at", size=2, latest=LATEST, now=seconds(10)) == []
    )


async def test_take_returns_a_batch_and_narrows_when_there_is_more() -> None:
    window = ReadWindow()
    backlog = Backlog(*(seconds(n) for n in range(10)))
    found = await window.take(backlog.read, field="at", size=3, latest=LATEST, now=seconds(60))
    assert [d["at"] for d in found] == [seconds(0), seconds(1), seconds(2)]
    assert window.bound(LATEST) == seconds(4), "behind: the next read ends a batch's span on"
