"""Group commit outcomes with a stand-in collection: whole-batch failures reach every caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, BulkWriteError, DuplicateKeyError

from services.common.groupcommit import GroupInsert

pytestmark = pytest.mark.unit


class FakeCollection:
    """Records each insert_many and answers with the given outcome."""

    name = "fake"

    def __init__(self, error: Exception | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.error = error

    async def insert_many(self, docs: list[dict[str, Any]], *, ordered: bool) -> None:
        assert ordered is False
        self.batches.append(docs)
        if self.error is not None:
            raise self.error


async def test_an_outage_fails_every_caller_of_the_batch() -> None:
    group = GroupInsert(FakeCollection(AutoReconnect("down")), linger_seconds=0.001)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        *(group.insert({"_id": n}) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, AutoReconnect) for o in outcomes)


async def test_a_write_concern_error_fails_the_whole_batch() -> None:
    error = BulkWriteError(
        {"writeErrors": [], "writeConcernErrors": [{"code": 64, "errmsg": "timeout"}]}
    )
    group = GroupInsert(FakeCollection(error), linger_seconds=0.001)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        *(group.insert({"_id": n}) for n in range(2)), return_exceptions=True
    )
    assert all(isinstance(o, BulkWriteError) for o in outcomes)


async def test_per_document_errors_go_to_their_callers() -> None:
    error = BulkWriteError(
        {"writeErrors": [{"index": 1, "code": 11000, "errmsg": "dup"}], "writeConcernErrors": []}
    )
    group = GroupInsert(FakeCollection(error), linger_seconds=0.001)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        *(group.insert({"_id": n}) for n in range(3)), return_exceptions=True
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], DuplicateKeyError)


async def test_a_caller_that_goes_away_does_not_stop_its_batch() -> None:
    collection = FakeCollection()
    group = GroupInsert(collection, linger_seconds=0.05)  # type: ignore[arg-type]
    leaving = asyncio.create_task(group.insert({"_id": "leaves"}))
    staying = asyncio.create_task(group.insert({"_id": "stays"}))
    await asyncio.sleep(0)
    leaving.cancel()
    await staying
    assert collection.batches == [[{"_id": "leaves"}, {"_id": "stays"}]]
