"""What an outbox relay costs the embedded database: clearing what it published, or reading the
writes from a change stream instead.

    python -m bench.change_stream [--docs 2000] [--indexes 10 5 2]

Today a relay finds pending outbox entries through `outbox_since`, publishes them and clears
them with an `update_many` per batch: one more rewrite of each document, every index entry of
it included. A relay reading a change stream would take the entries from the writes
themselves, in commit order, and store only its resume token per batch; but change streams
need the server to keep an oplog (SecantusDB keeps none with `--standalone`, as the services
run it now), which costs every write too.

For each count of secondary indexes (routing's `cases` has ten, intake's `reports` five,
notify's `deadlines` two), this starts two fresh on-disk SecantusDB servers, journaled and
synced as the services run it: one standalone, one keeping its oplog. On each it inserts
`--docs` documents carrying one outbox entry, 200 per `insert_many`, then appends one more
entry to each (200 per `update_many`, as an update carrying an event does). On the standalone
server every write is followed by the relay's clear; on the other, the relay reads the same
writes from a change stream. Prints the server's CPU milliseconds per document for each step.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from bench.common import measured, run_bench
from bench.outbox_clear import CHUNK, one_update_many, pending
from services.common.embedded import EmbeddedMongo
from services.common.outbox import OUTBOX, OUTBOX_SINCE

Collection = AsyncCollection[dict[str, Any]]


def chunks(docs: int) -> list[list[int]]:
    """The documents' ids, 200 per command."""
    return [list(range(first, min(first + CHUNK, docs))) for first in range(0, docs, CHUNK)]


async def append_entries(collection: Collection, ids: list[int]) -> None:
    """An update carrying an event for each of these documents."""
    entry = {"event_id": "later", "type": "case.updated", "body": "x" * 500}
    update = {"$push": {OUTBOX: entry}, "$set": {OUTBOX_SINCE: datetime.now(UTC)}}
    await collection.update_many({"_id": {"$in": ids}}, update)


async def cpu_ms(pid: int, step: Awaitable[Any]) -> float:
    """The server's CPU milliseconds `step` took."""
    return (await measured(pid, step))[2]


async def with_clears(collection: Collection, pid: int, docs: int) -> list[float]:
    """Insert, clear, append, clear: CPU ms of each, per document."""
    spent = [0.0, 0.0, 0.0, 0.0]
    for ids in chunks(docs):
        spent[0] += await cpu_ms(pid, collection.insert_many([pending(n) for n in ids]))
        spent[1] += await cpu_ms(pid, one_update_many(collection, ids))
    for ids in chunks(docs):
        spent[2] += await cpu_ms(pid, append_entries(collection, ids))
        spent[3] += await cpu_ms(pid, one_update_many(collection, ids, published=["later"]))
    return [ms / docs for ms in spent]


async def with_stream(collection: Collection, pid: int, docs: int) -> list[float]:
    """Insert, read the inserts from a change stream, append, read those: CPU ms per document."""
    spent = [0.0, 0.0, 0.0, 0.0]
    async with await collection.watch() as stream:
        for ids in chunks(docs):
            spent[0] += await cpu_ms(pid, collection.insert_many([pending(n) for n in ids]))
            spent[1] += await cpu_ms(pid, read_changes(stream, len(ids)))
        for ids in chunks(docs):
            spent[2] += await cpu_ms(pid, append_entries(collection, ids))
            spent[3] += await cpu_ms(pid, read_changes(stream, len(ids)))
    return [ms / docs for ms in spent]


async def read_changes(stream: Any, count: int) -> None:
    """Take `count` change events, each with the outbox entries its write stored."""
    taken = 0
    while taken < count:
        change = await stream.try_next()
        if change is None:
            await asyncio.sleep(0.001)
            continue
        entries = (change.get("fullDocument") or {}).get(OUTBOX) or [
            value
            for key, value in (change.get("updateDescription") or {})
            .get("updatedFields", {})
            .items()
            if key.startswith(OUTBOX + ".") or key == OUTBOX
        ]
        assert entries, f"a change without its outbox entries: {change}"
        taken += 1


async def run(standalone: bool, docs: int, indexes: int) -> list[float]:
    """The four steps' CPU ms per document on a fresh server."""
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedMongo(Path(tmp) / "db", standalone=standalone).start()
        assert server.process is not None
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            server.url, journal=True, tz_aware=True, directConnection=True
        )
        try:
            collection = client.bench.docs
            for k in range(indexes):
                await collection.create_index([(f"f{k}", 1), ("_id", 1)])
            await collection.create_index(OUTBOX_SINCE, sparse=True)
            relay = with_clears if standalone else with_stream
            return await relay(collection, server.process.pid, docs)
        finally:
            await client.close()
            server.stop()


async def main(args: argparse.Namespace) -> None:
    """Two lines per count of indexes."""
    print("database CPU ms per document: write with its event, then the relay's part")
    for indexes in args.indexes:
        clears = await run(True, args.docs, indexes)
        stream = await run(False, args.docs, indexes)
        total = indexes + 2  # with `_id` and `outbox_since`
        print(
            f"{total:2d} indexes, standalone, relay clears:   insert {clears[0]:.3f}"
            f" + clear {clears[1]:.3f}; update {clears[2]:.3f} + clear {clears[3]:.3f}",
            flush=True,
        )
        print(
            f"{total:2d} indexes, oplog kept, change stream: insert {stream[0]:.3f}"
            f" + read {stream[1]:.3f}; update {stream[2]:.3f} + read {stream[3]:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--indexes", type=int, nargs="+", default=[10, 5, 2])
    run_bench(main(parser.parse_args()))
