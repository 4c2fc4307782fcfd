"""MongoDB client lifespan: one `AsyncMongoClient` per event loop, a time limit on every call."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from services.common.runtime import bounded

log = logging.getLogger(__name__)

Document = dict[str, Any]
MongoDatabase = AsyncDatabase[Document]

TRANSIENT_MONGO_ERRORS: tuple[type[PyMongoError], ...] = (
    AutoReconnect,
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    WTimeoutError,
)
INDEX_NOT_FOUND = 27  # the server's code for dropping an index it does not have


def make_client(url: str, *, timeout_ms: int) -> AsyncMongoClient[Document]:
    """A client whose every operation gives up after `timeout_ms` (so an outage is a 503).

    Every write is journaled (`j: true`): an acknowledged write survives a crash of the
    database process. The URL adds what depends on the deployment: `w=majority` on a replica
    set, `retryWrites=false` on the embedded standalone server (see services.common.embedded).
    """
    return AsyncMongoClient(url, timeoutMS=timeout_ms, tz_aware=True, connect=False, journal=True)


@asynccontextmanager
async def mongo_database(url: str, name: str, *, timeout_ms: int) -> AsyncIterator[MongoDatabase]:
    """Open a client, yield the named database, close the client on exit."""
    client = make_client(url, timeout_ms=timeout_ms)
    try:
        yield client[name]
    finally:
        await close_client(client, timeout=timeout_ms / 1000 + 1)


async def close_client(client: AsyncMongoClient[Document], *, timeout: float) -> None:
    """Close the client in a task of its own, giving up after `timeout` seconds.

    At shutdown aiohttp runs cleanup inside a task already being cancelled; there, with the
    server unreachable, `close()` (which tries to end server sessions) was seen to hang.
    """
    if not await bounded(client.close(), seconds=timeout, what="close the database client"):
        log.warning("database client did not close in time; abandoning it")


async def ping(db: MongoDatabase) -> bool:
    """True when the database answers."""
    try:
        await db.command("ping")
    except PyMongoError as exc:
        log.warning("database ping failed", extra={"error": str(exc)})
        return False
    return True


async def drop_index_if_present(collection: AsyncCollection[Document], name: str) -> None:
    """Drop the index `name` an earlier version created, if the collection still has it.

    Every index of a collection is rewritten with each write of its documents, so one that no
    query needs is dropped at start rather than left to cost every write.
    """
    try:
        await collection.drop_index(name)
    except OperationFailure as exc:
        if exc.code != INDEX_NOT_FOUND:
            raise
        return
    log.info("unneeded index dropped", extra={"collection": collection.name, "index": name})
