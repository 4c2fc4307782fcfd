"""Supervised background loops and bounded waits: the pieces every service's lifespan runs on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from services.common import metrics
from services.common.errortext import describe

log = logging.getLogger(__name__)

LoopFactory = Callable[[], Awaitable[None]]


# While a cancelled task still runs past half its bound, its cancellation is delivered again
# this often.
RECANCEL_SECONDS = 0.2


def raise_if_cancelling() -> None:
    """Re-raise a cancellation that a library turned into an ordinary error or dropped.

    asyncio delivers a cancellation once. PyMongo can convert a `CancelledError` delivered
    during server selection into one of its own errors, which a retry loop catching `Exception`
    would take for an outage; and on Python 3.11 it can drop one: its socket writes go through
    `asyncio.wait_for`, which returns the result of a write that finished as the cancellation
    arrived and forgets the cancellation (CPython gh-86296, fixed in 3.12), so the operation
    returns normally. Either way the task still counts the request (`Task.cancelling`), and a
    loop that checks here before it waits again stops instead of running on.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def woken(wake: asyncio.Event, *, seconds: float) -> bool:
    """Wait for `wake` at most `seconds`; True if it was set. A cancellation the work before
    dropped is raised first (`raise_if_cancelling`); the wait itself stays cancellable (it
    avoids 3.11's `wait_for`, which can swallow one)."""
    raise_if_cancelling()
    try:
        async with asyncio.timeout(seconds):
            await wake.wait()
    except TimeoutError:
        return False
    return True


async def bounded(step: Awaitable[Any], *, seconds: float, what: str) -> bool:
    """Await `step` for at most `seconds`; on time-out cancel it, log, and return False.

    The step runs in a task of its own and is waited on with `asyncio.wait`, which neither
    swallows a cancellation of the caller nor waits for an uncooperative step to unwind.
    """
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.warning("gave up waiting", extra={"step": what, "after_seconds": seconds})
        return False
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("step failed", extra={"step": what, "error": describe(exc)})
        return False
    return True


async def cancel_and_wait(
    tasks: Collection[asyncio.Task[Any]], *, seconds: float
) -> set[asyncio.Task[Any]]:
    """Cancel `tasks` and wait at most `seconds` for them to end; return those still running.

    A task still running after half of `seconds` (time enough for the clean-up a cancellation
    starts, such as giving up a lease) is cancelled again every `RECANCEL_SECONDS` (as trio and
    anyio cancel: until the task ends, not once), so a cancellation a library dropped does not
    leave it running for good (`raise_if_cancelling`).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pending = {task for task in tasks if not task.done()}
    wait = seconds / 2
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - loop.time()
        if left <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=min(left, wait))
        wait = RECANCEL_SECONDS
    return pending


@dataclass(frozen=True)
class Backoff:
    """Waits between restarts: doubling from `first` up to `longest`."""

    first: float = 0.5
    longest: float = 30.0
    # A loop that ran this long before failing starts again from the shortest wait.
    healthy_after: float = 60.0


class Supervisor:
    """Runs named background loops; one that raises is logged, restarted with back-off and
    reported down until it runs again. A loop started with `once=True` is done when it returns.
    """

    def __init__(self, backoff: Backoff = Backoff()) -> None:
        self.backoff = backoff
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._down: dict[str, str] = {}
        self._finished: set[str] = set()

    def spawn(self, name: str, factory: LoopFactory, *, once: bool = False) -> None:
        """Start `factory()` under supervision as the task `name`."""
        if name in self._tasks:
            raise ValueError(f"a loop named {name!r} already runs")
        self._tasks[name] = asyncio.create_task(self._guard(name, factory, once), name=name)

    def status(self) -> dict[str, bool]:
        """Each loop's name and whether it is running (or, for a `once` loop, has finished)."""
        return {name: name not in self._down for name in self._tasks}

    def finished(self, name: str) -> bool:
        """Whether the `once` loop `name` has completed."""
        return name in self._finished

    async def stop(self, *, seconds: float) -> None:
        """Cancel every loop and wait for them together, at most `seconds`."""
        for task in await cancel_and_wait(self._tasks.values(), seconds=seconds):
            log.warning("loop did not stop in time", extra={"loop": task.get_name()})
        self._tasks.clear()

    async def _guard(self, name: str, factory: LoopFactory, once: bool) -> None:
        loop = asyncio.get_running_loop()
        delay = self.backoff.first
        while True:
            started = loop.time()
            try:
                await factory()
                if once:
                    self._finished.add(name)
                    return
                error = "returned"
                log.error("background loop returned; restarting it", extra={"loop": name})
            except Exception as exc:
                raise_if_cancelling()
                error = describe(exc)
                log.exception(
                    "background loop failed; restarting it",
                    extra={"loop": name, "retry_in": delay},
                )
            self._down[name] = error
            metrics.LOOP_RESTARTS.labels(loop=name).inc()
            if loop.time() - started > self.backoff.healthy_after:
                delay = self.backoff.first
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff.longest)
            self._down.pop(name, None)
