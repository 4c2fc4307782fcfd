"""Group commit: concurrent inserts into one collection coalesce into one `insert_many`.

On a database whose cost is per command, one `insert_many(ordered=False)` of N documents costs
far less than N `insert_one`s. Each caller still gets its own outcome: a duplicate key inside
a batch fails that caller alone, a batch that fails as a whole fails each of its callers, and
nothing is acknowledged before the (journaled) write returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from services.common.mongo import Document

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000


class GroupInsert:
    """Inserts documents into `collection` in batches of up to `max_batch`.

    The first insert of a burst starts a flush that waits `linger_seconds` (unless the batch
    is already full) so that the inserts arriving right behind it share the command; while a
    batch is being written the next one gathers.
    """

    def __init__(
        self,
        collection: AsyncCollection[Document],
        *,
        max_batch: int = 200,
        linger_seconds: float = 0.002,
    ) -> None:
        self.collection = collection
        self.max_batch = max_batch
        self.linger_seconds = linger_seconds
        self._pending: list[tuple[Document, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def insert(self, document: Document) -> None:
        """Insert `document` with the others of its batch; raise its own error, if any."""
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A caller that went away never reads its outcome; mark it read so nothing is logged.
        outcome.add_done_callback(_consume)
        self._pending.append((document, outcome))
        if self._flushing is None:
            # The flush outlives a caller that goes away: the others of its batch await it.
            self._flushing = asyncio.create_task(self._flush(), name="group-insert")
        await asyncio.shield(outcome)

    async def _flush(self) -> None:
        """Write batches until nothing is pending."""
        try:
            while self._pending:
                if len(self._pending) < self.max_batch:
                    await asyncio.sleep(self.linger_seconds)
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._write(batch)
        finally:
            self._flushing = None

    async def _write(self, batch: list[tuple[Document, asyncio.Future[None]]]) -> None:
        """One `insert_many`; every caller's future gets its own outcome."""
        errors: dict[int, BaseException] = {}
        try:
            await self.collection.insert_many([doc for doc, _ in batch], ordered=False)
        except BulkWriteError as exc:
            errors = _per_document(exc, len(batch))
        except Exception as exc:  # the whole batch failed (outage, time-out): tell everyone
            errors = dict.fromkeys(range(len(batch)), exc)
        except BaseException:  # cancelled at shutdown: the outcome is unknown
            for _, outcome in batch:
                outcome.cancel()
            raise
        for index, (_, outcome) in enumerate(batch):
            if outcome.done():
                continue
            if index in errors:
                outcome.set_exception(errors[index])
            else:
                outcome.set_result(None)


def _per_document(exc: BulkWriteError, size: int) -> dict[int, BaseException]:
    """Each failed document's own error; all of them when the write concern failed."""
    details: Mapping[str, Any] = exc.details
    if details.get("writeConcernErrors"):
        return dict.fromkeys(range(size), exc)
    errors: dict[int, BaseException] = {}
    for error in details.get("writeErrors", []):
        kind = DuplicateKeyError if error.get("code") == DUPLICATE_KEY else OperationFailure
        errors[error["index"]] = kind(error.get("errmsg", ""), error.get("code"), error)
    return errors


def _consume(outcome: asyncio.Future[None]) -> None:
    if not outcome.cancelled():
        outcome.exception()
