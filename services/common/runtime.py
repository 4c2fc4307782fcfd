"""Lifespan helpers for aiohttp apps: background tasks that stop with the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def background(
    name: str, coro: Coroutine[Any, Any, None]
) -> AsyncIterator[asyncio.Task[None]]:
    """Run `coro` as a task for the block's duration; cancel and await it on exit."""
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(_report_crash)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "background task stopped", extra={"task": task.get_name()}, exc_info=task.exception()
        )


def raise_if_cancelling() -> None:
    """Re-raise a cancellation that a library turned into an ordinary error.

    PyMongo can convert a `CancelledError` delivered during server selection into one of its
    own errors; a retry loop catching `Exception` would then swallow the shutdown and spin.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
