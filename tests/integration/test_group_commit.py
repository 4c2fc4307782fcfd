"""Group commit against a real server: one command for many inserts, each caller its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymongo.errors import DuplicateKeyError

from services.common.groupcommit import GroupInsert
from services.common.mongo import MongoDatabase
from tests.helpers import Commands, counting_database

pytestmark = pytest.mark.integration


@pytest.fixture
async def counted(mongo_url: str, db_name: str) -> AsyncIterator[tuple[MongoDatabase, Commands]]:
    async with counting_database(mongo_url, db_name) as (db, commands):
        try:
            yield db, commands
        finally:
            await db.client.drop_database(db_name)


async def test_concurrent_inserts_share_one_command_and_all_are_stored(
    counted: tuple[MongoDatabase, Commands],
) -> None:
    db, commands = counted
    group = GroupInsert(db.docs, max_batch=100, linger_seconds=0.01)
    await asyncio.gather(*(group.insert({"_id": n}) for n in range(60)))
    assert await db.docs.count_documents({}) == 60
    assert commands.names["insert"] == 1


async def test_a_duplicate_inside_a_batch_fails_its_own_caller_alone(
    counted: tuple[MongoDatabase, Commands],
) -> None:
    db, _ = counted
    docs = db.docs
    await docs.insert_one({"_id": "taken"})
    group = GroupInsert(docs, max_batch=100, linger_seconds=0.01)
    ids = ["a", "taken", "b", "c"]
    outcomes = await asyncio.gather(
        *(group.insert({"_id": i}) for i in ids), return_exceptions=True
    )
    assert [type(o) for o in outcomes] == [type(None), DuplicateKeyError, type(None), type(None)]
    assert sorted(d["_id"] for d in await docs.find({}).to_list()) == ["a", "b", "c", "taken"]


async def test_batches_are_bounded_and_later_arrivals_join_the_next(
    counted: tuple[MongoDatabase, Commands],
) -> None:
    db, commands = counted
    group = GroupInsert(db.docs, max_batch=10, linger_seconds=0.01)
    await asyncio.gather(*(group.insert({"_id": n}) for n in range(35)))
    assert await db.docs.count_documents({}) == 35
    assert commands.names["insert"] == 4
