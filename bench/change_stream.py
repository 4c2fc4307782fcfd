"""What an outbox relay costs the embedded database: clearing what it published, reading the
writes from a change stream instead, or keeping the events in a collection of their own.

    python -m bench.change_stream [--docs 2000] [--indexes 10 5 2]

Today a relay finds pending outbox entries through `outbox_since`, publishes them and clears
them, `CLEAR_PART` documents per `update_many`, one command per batch: one more rewrite of each
document, every index entry of it included. Two designs that rewrite nothing once published:
- a relay reading a change stream takes the entries from the writes themselves, in commit
  order, and stores only its resume token per batch;
- each write and its events go in one transaction, the events as small documents of an
  `outbox` collection (indexed by time), which the relay deletes once published.
Both need the server to keep an oplog (SecantusDB keeps none with `--standalone`, as the
services run it now), which costs every write too.

For each count of secondary indexes (routing's `cases` has ten, intake's `reports` five,
notify's `deadlines` two), this starts a fresh on-disk SecantusDB server for each design,
journaled and synced as the services run it: standalone for today's relay, keeping its oplog
for the other two. On each it inserts `--docs` documents with one event each, 200 per
`insert_many`, then updates each once more with one more event (200 per `update_many`, as an
update carrying an event does), each write followed by the relay's part: the clear, the read
of the change stream, or the delete of the event documents (the relay's read of pending
entries, the same for the first and the last, is not counted). Prints the server's CPU
milliseconds per document for each step.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, DeleteMany
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from bench.common import measured, run_bench
from bench.outbox_clear import CHUNK, in_parts, pending
from bench.update_cost import document
from services.common.embedded import EmbeddedMongo
from services.common.outbox import CLEAR_PART, OUTBOX, OUTBOX_SINCE

Collection = AsyncCollection[dict[str, Any]]
Write = Callable[[AsyncClientSession], Awaitable[Any]]  # a write in a session


def chunks(docs: int) -> list[list[int]]:
    """The documents' ids, 200 per command."""
    return [list(range(first, min(first + CHUNK, docs))) for first in range(0, docs, CHUNK)]


LATER = {"event_id": "later", "type": "case.updated", "body": "x" * 500}


async def append_entries(collection: Collection, ids: list[int]) -> None:
    """An update carrying an event for each of these documents."""
    update = {"$push": {OUTBOX: LATER}, "$set": {OUTBOX_SINCE: datetime.now(UTC)}}
    await collection.update_many({"_id": {"$in": ids}}, update)


async def cpu_ms(pid: int, step: Awaitable[Any]) -> float:
    """The server's CPU milliseconds `step` took."""
    return (await measured(pid, step))[2]


async def with_clears(collection: Collection, pid: int, docs: int) -> list[float]:
    """Insert, clear, append, clear: CPU ms of each, per document."""
    spent = [0.0, 0.0, 0.0, 0.0]
    for ids in chunks(docs):
        spent[0] += await cpu_ms(pid, collection.insert_many([pending(n) for n in ids]))
        spent[1] += await cpu_ms(pid, in_parts(collection, ids))
    for ids in chunks(docs):
        spent[2] += await cpu_ms(pid, append_entries(collection, ids))
        spent[3] += await cpu_ms(pid, in_parts(collection, ids, LATER["event_id"]))
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


async def with_transactions(
    client: AsyncMongoClient[dict[str, Any]], collection: Collection, pid: int, docs: int
) -> list[float]:
    """Insert with the events in a transaction, delete the events, update with the events in a
    transaction, delete those: CPU ms per document."""
    events = collection.database.outbox
    await events.create_index("at")

    async def written(write: Write, ids: list[int], kind: str) -> None:
        now = datetime.now(UTC)
        entries = [{"_id": f"{kind}-{n}", "at": now, "entry": LATER} for n in ids]
        async with client.start_session() as session, await session.start_transaction():
            await write(session)
            await events.insert_many(entries, session=session)

    async def deleted(ids: list[int], kind: str) -> None:
        parts = [ids[first : first + CLEAR_PART] for first in range(0, len(ids), CLEAR_PART)]
        deletes = [DeleteMany({"_id": {"$in": [f"{kind}-{n}" for n in part]}}) for part in parts]
        await events.bulk_write(deletes, ordered=False)

    def insert(ids: list[int]) -> Write:
        return lambda s: collection.insert_many([document(n) for n in ids], session=s)

    def update(ids: list[int]) -> Write:
        return lambda s: collection.update_many(
            {"_id": {"$in": ids}}, {"$set": {"v": 1}}, session=s
        )

    spent = [0.0, 0.0, 0.0, 0.0]
    for ids in chunks(docs):
        spent[0] += await cpu_ms(pid, written(insert(ids), ids, "inserted"))
        spent[1] += await cpu_ms(pid, deleted(ids, "inserted"))
    for ids in chunks(docs):
        spent[2] += await cpu_ms(pid, written(update(ids), ids, "updated"))
        spent[3] += await cpu_ms(pid, deleted(ids, "updated"))
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


async def run(design: str, docs: int, indexes: int) -> list[float]:
    """The four steps' CPU ms per document on a fresh server, for one of the `DESIGNS`."""
    standalone = design == "clears"
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
            pid = server.process.pid
            if design == "transactions":
                return await with_transactions(client, collection, pid, docs)
            relay = with_clears if standalone else with_stream
            return await relay(collection, pid, docs)
        finally:
            await client.close()
            server.stop()


# Each design: its line's label, and what it calls the relay's part.
DESIGNS = {
    "clears": ("standalone, relay clears:      ", "clear"),
    "stream": ("oplog kept, change stream:     ", "read"),
    "transactions": ("oplog kept, events in a txn:   ", "delete"),
}


async def main(args: argparse.Namespace) -> None:
    """Three lines per count of indexes."""
    print("database CPU ms per document: write with its event, then the relay's part")
    for indexes in args.indexes:
        total = indexes + 2  # with `_id` and `outbox_since`
        for design, (label, part) in DESIGNS.items():
            ms = await run(design, args.docs, indexes)
            print(
                f"{total:2d} indexes, {label} insert {ms[0]:.3f} + {part} {ms[1]:.3f};"
                f" update {ms[2]:.3f} + {part} {ms[3]:.3f}  (sum {sum(ms):.3f})",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--indexes", type=int, nargs="+", default=[10, 5, 2])
    run_bench(main(parser.parse_args()))
