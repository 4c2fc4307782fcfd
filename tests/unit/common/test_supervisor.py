"""The loop supervisor: a loop that raises is restarted, reported down meanwhile; waits are bounded."""

from __future__ import annotations

import asyncio

import pytest

from services.common.runtime import Backoff, Supervisor, bounded
from tests.helpers import wait_until

pytestmark = pytest.mark.unit


async def test_a_loop_that_raises_is_reported_down_then_restarted() -> None:
    supervisor = Supervisor(Backoff(first=0.5, longest=0.5))
    runs: list[int] = []
    release = asyncio.Event()

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("bad document")
        await release.wait()
        await asyncio.Event().wait()

    supervisor.spawn("flaky", flaky)

    async def failed_once() -> bool:
        return len(runs) == 1 and supervisor.status() == {"flaky": False}

    async def running_again() -> bool:
        return len(runs) == 2 and supervisor.status() == {"flaky": True}

    await wait_until(failed_once, timeout=5, interval=0.001, what="the loop reported down")
    await wait_until(running_again, timeout=5, what="the loop restarted")
    await supervisor.stop(seconds=1)


async def test_a_once_loop_is_finished_after_it_returns() -> None:
    supervisor = Supervisor()

    async def connect() -> None:
        await asyncio.sleep(0)

    supervisor.spawn("connect", connect, once=True)

    async def finished() -> bool:
        return supervisor.finished("connect")

    await wait_until(finished, timeout=5, what="the once loop finished")
    assert supervisor.status() == {"connect": True}
    await supervisor.stop(seconds=1)


async def test_stop_cancels_a_loop_that_ignores_nothing_within_the_bound() -> None:
    supervisor = Supervisor()

    async def forever() -> None:
        await asyncio.Event().wait()

    supervisor.spawn("forever", forever)
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
