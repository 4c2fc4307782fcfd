"""The loop supervisor: a loop that raises is restarted, reported down meanwhile; waits are bounded."""

from __future__ import annotations

import asyncio

import pytest

from services.common.runtime import Backoff, Supervisor, bounded

pytestmark = pytest.mark.unit


async def test_a_loop_that_raises_is_reported_down_then_restarted() -> None:
    supervisor = Supervisor(Backoff(first=0.05, longest=0.05))
    runs: list[int] = []
    release = asyncio.Event()

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("bad document")
        await release.wait()
        await asyncio.Event().wait()

    supervisor.spawn("flaky", flaky)
    while not runs:
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert supervisor.status() == {"flaky": False}
    async with asyncio.timeout(5):
        while len(runs) < 2:
            await asyncio.sleep(0.01)
    assert supervisor.status() == {"flaky": True}
    await supervisor.stop(seconds=1)


async def test_a_once_loop_is_finished_after_it_returns() -> None:
    supervisor = Supervisor()

    async def connect() -> None:
        await asyncio.sleep(0)

    supervisor.spawn("connect", connect, once=True)
    async with asyncio.timeout(5):
        while not supervisor.finished("connect"):
            await asyncio.sleep(0.01)
    assert supervisor.status() == {"connect": True}
    await supervisor.stop(seconds=1)


async def test_stop_cancels_a_loop_that_ignores_nothing_within_the_bound() -> None:
    supervisor = Supervisor()
    supervisor.spawn("forever", lambda: asyncio.Event().wait())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await supervisor.stop(seconds=1)
    assert loop.time() - started < 0.5


async def test_bounded_gives_up_on_a_step_that_never_ends() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bounded(asyncio.Event().wait(), seconds=0.1, what="hang") is False
    assert loop.time() - started < 0.5
    assert await bounded(asyncio.sleep(0), seconds=1, what="quick") is True


async def test_bounded_reports_a_failed_step_without_raising() -> None:
    async def fail() -> None:
        raise OSError("gone")

    assert await bounded(fail(), seconds=1, what="fail") is False
