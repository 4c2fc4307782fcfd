"""The loop supervisor: a loop that raises is restarted, reported down meanwhile; waits are
bounded; a cancellation a library dropped does not leave a loop running."""

from __future__ import annotations

import asyncio

import pytest

from services.common.runtime import Backoff, Supervisor, bounded, woken
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


class Library:
    """Drops the first cancellation it is given as PyMongo's socket write on Python 3.11 can
    (CPython gh-86296): the operation returns normally, the cancellation forgotten."""

    def __init__(self) -> None:
        self.dropped = False

    async def operation(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if self.dropped:
                raise
            self.dropped = True


async def test_stop_cancels_again_a_loop_whose_cancellation_was_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor()
    library = Library()

    async def loop_over_the_library() -> None:
        while True:
            await library.operation()

    supervisor.spawn("relay", loop_over_the_library)
    await asyncio.sleep(0)
    await supervisor.stop(seconds=2)
    assert library.dropped
    assert "loop did not stop in time" not in caplog.text


async def test_a_wait_for_work_raises_the_cancellation_the_work_before_it_dropped() -> None:
    library = Library()

    async def work_then_wait() -> None:
        await library.operation()
        await woken(asyncio.Event(), seconds=5)

    task = asyncio.create_task(work_then_wait())
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    assert library.dropped
    assert done and task.cancelled()


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
