"""Coalescing: concurrent callers' items are handled together, each caller gets its own outcome.

The first item of a burst starts a flush that waits `linger_seconds` (unless a batch is
already full) so the items arriving right behind it join; while a batch is being handled the
next one gathers. The flush runs in a task of its own, so a caller that goes away neither
stops its batch nor loses the others' outcomes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
# Handles a batch; returns, per item in order, None (done) or the error that item alone gets.
# Raising fails every item of the batch with that error.
BatchFunction = Callable[[list[Item]], Awaitable[Sequence[BaseException | None]]]


class Coalescer(Generic[Item]):
    """Hands items to `handle` in batches of up to `max_batch`."""

    def __init__(
        self,
        handle: BatchFunction[Item],
        *,
        max_batch: int = 200,
        linger_seconds: float = 0.002,
        name: str = "coalescer",
    ) -> None:
        self.handle = handle
        self.max_batch = max_batch
        self.linger_seconds = linger_seconds
        self.name = name
        self._pending: list[tuple[Item, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> None:
        """Handle `item` with the others of its batch; raise its own error, if any."""
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A caller that went away never reads its outcome; mark it read so nothing is logged.
        outcome.add_done_callback(_consume)
        self._pending.append((item, outcome))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush(), name=self.name)
        await asyncio.shield(outcome)

    async def _flush(self) -> None:
        """Handle batches until nothing is pending."""
        try:
            while self._pending:
                if len(self._pending) < self.max_batch:
                    await asyncio.sleep(self.linger_seconds)
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._run(batch)
        finally:
            self._flushing = None

    async def _run(self, batch: list[tuple[Item, asyncio.Future[None]]]) -> None:
        outcomes: Sequence[BaseException | None]
        try:
            outcomes = await self.handle([item for item, _ in batch])
        except Exception as exc:  # the whole batch failed: every caller hears it
            outcomes = [exc] * len(batch)
        except BaseException:  # cancelled at shutdown: the outcome is unknown
            for _, outcome in batch:
                outcome.cancel()
            raise
        for (_, outcome), error in zip(batch, outcomes, strict=True):
            if outcome.done():
                continue
            if error is None:
                outcome.set_result(None)
            else:
                outcome.set_exception(error)


def _consume(outcome: asyncio.Future[None]) -> None:
    if not outcome.cancelled():
        outcome.exception()
