"""Group commit against a real server: one command for many inserts, each caller its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import DuplicateKeyError

from services.common.groupcommit import GroupInsert
from services.common.mongo import Document

pytestmark = pytest.mark.integration


class InsertCommands(monitoring.CommandListener):
    """Counts the insert commands the client sends."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += event.command_name == "insert"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def counted(
    mongo_url: str, db_name: str
) -> AsyncIterator[tuple[AsyncMongoClient[Document], InsertCommands]]:
    listener = InsertCommands()
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url, event_listeners=[listener])
    try:
        yield client, listener
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_concurrent_inserts_share_one_command_and_all_are_stored(
    counted: tuple[AsyncMongoClient[Document], InsertCommands], db_name: str
) -> None:
    client, listener = counted
    group = GroupInsert(client[db_name].docs, max_batch=100, linger_seconds=0.01)
    await asyncio.gather(*(group.insert({"_id": n}) for n in range(60)))
    assert await client[db_name].docs.count_documents({}) == 60
    assert listener.count == 1


async def test_a_duplicate_inside_a_batch_fails_its_own_caller_alone(
    counted: tuple[AsyncMongoClient[Document], InsertCommands], db_name: str
) -> None:
    client, _ = counted
    docs = client[db_name].docs
    await docs.insert_one({"_id": "taken"})
    group = GroupInsert(docs, max_batch=100, linger_seconds=0.01)
    ids = ["a", "taken", "b", "c"]
    outcomes = await asyncio.gather(
        *(group.insert({"_id": i}) for i in ids), return_exceptions=True
    )
    assert [type(o) for o in outcomes] == [type(None), DuplicateKeyError, type(None), type(None)]
    assert sorted(d["_id"] for d in await docs.find({}).to_list()) == ["a", "b", "c", "taken"]


async def test_batches_are_bounded_and_later_arrivals_join_the_next(
    counted: tuple[AsyncMongoClient[Document], InsertCommands], db_name: str
) -> None:
    client, listener = counted
    group = GroupInsert(client[db_name].docs, max_batch=10, linger_seconds=0.01)
    await asyncio.gather(*(group.insert({"_id": n}) for n in range(35)))
    assert await client[db_name].docs.count_documents({}) == 35
    assert listener.count == 4
