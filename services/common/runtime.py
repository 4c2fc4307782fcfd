"""Supervised background loops and bounded waits: the pieces every service's lifespan runs on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from services.common import metrics
from services.common.errortext import describe

log = logging.getLogger(__name__)

LoopFactory = Callable[[], Awaitable[None]]


def raise_if_cancelling() -> None:
    """Re-raise a cancellation that a library turned into an ordinary error.

    PyMongo can convert a `CancelledError` delivered during server selection into one of its
    own errors; a retry loop catching `Exception` would then swallow the shutdown and spin.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def woken(wake: asyncio.Event, *, seconds: float) -> bool:
    """Wait for `wake` at most `seconds`; True if it was set. Stays cancellable (3.11's
    `wait_for` can swallow a cancellation)."""
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
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=seconds)
            for task in pending:
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
