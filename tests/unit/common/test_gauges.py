"""Gauges counted in the database: every few seconds while a count is quick, rarer as it slows."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.errors import AutoReconnect

from services.common.gauges import keep_counting, pause_after


def test_a_quick_count_is_repeated_every_interval() -> None:
    assert pause_after(0.01, every=5.0) == 5.0


def test_a_slow_count_waits_long_enough_to_take_only_its_share_of_the_time() -> None:
    pause = pause_after(2.0, every=5.0, share=0.02)
    assert pause == pytest.approx(98.0)
    assert 2.0 / (2.0 + pause) == pytest.approx(0.02)


async def test_a_database_away_skips_a_count_and_the_loop_goes_on() -> None:
    counts: list[int] = []
    third = asyncio.Event()

    async def count() -> None:
        counts.append(1)
        if len(counts) == 1:
            raise AutoReconnect("database restarting")
        if len(counts) == 3:
            third.set()

    task = asyncio.create_task(keep_counting(count, every=0.001, what="test backlog"))
    async with asyncio.timeout(10):
        await third.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(counts) >= 3
