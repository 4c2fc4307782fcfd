"""Group commit: concurrent inserts into one collection coalesce into one `insert_many`.

On a database whose cost is per command, one `insert_many(ordered=False)` of N documents costs
far less than N `insert_one`s. Each caller still gets its own outcome: a duplicate key inside
a batch fails that caller alone, a batch that fails as a whole fails each of its callers, and
nothing is acknowledged before the (journaled) write returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from services.common.batching import Coalescer
from services.common.mongo import Document

DUPLICATE_KEY = 11000


class GroupInsert:
    """Inserts documents into `collection` in batches of up to `max_batch`."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        *,
        max_batch: int = 200,
        linger_seconds: float = 0.002,
    ) -> None:
        self.collection = collection
        self._coalescer = Coalescer(
            self._insert_many,
            max_batch=max_batch,
            linger_seconds=linger_seconds,
            name=f"group-insert-{collection.name}",
        )

    async def insert(self, document: Document) -> None:
        """Insert `document` with the others of its batch; raise its own error, if any."""
        await self._coalescer.submit(document)

    async def _insert_many(self, documents: list[Document]) -> Sequence[BaseException | None]:
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            errors = per_document_errors(exc, len(documents))
            return [errors.get(index) for index in range(len(documents))]
        return [None] * len(documents)


def per_document_errors(exc: BulkWriteError, size: int) -> dict[int, BaseException]:
    """Each failed document's own error; all of them when the write concern failed."""
    details: Mapping[str, Any] = exc.details
    if details.get("writeConcernErrors"):
        return dict.fromkeys(range(size), exc)
    errors: dict[int, BaseException] = {}
    for error in details.get("writeErrors", []):
        kind = DuplicateKeyError if error.get("code") == DUPLICATE_KEY else OperationFailure
        errors[error["index"]] = kind(error.get("errmsg", ""), error.get("code"), error)
    return errors
