"""What clearing published outboxes costs the embedded database, by how the relay writes it.

    python -m bench.outbox_clear [--docs 2000] [--indexes 10]

Starts a fresh on-disk SecantusDB (journaled writes, as the services run it), stores `--docs`
documents with one pending outbox entry each in a collection with `--indexes` secondary
indexes (routing's `cases` has ten), and clears them 200 at a time, as a relay does after
publishing a batch, in three ways: one write per document, conditional on its outbox still
having the size and last event id read (an earlier relay); one `update_many` matching the
batch's documents whose outbox holds no event but the published ones (the relay after it);
and the same condition in parts of `CLEAR_PART` documents, each part with its own
documents' event ids, all in one `bulk_write` (the relay now); and, tried, the same parts
found by `_id` alone with an update pipeline that drops the published entries. Prints the
server's CPU and wall milliseconds per document for each.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateMany, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from bench.common import cpu_seconds, embedded_database, run_bench
from bench.update_cost import FIELDS, document
from services.common.outbox import CLEAR_PART, CLEARED, OUTBOX, OUTBOX_SINCE, clearing_writes

CHUNK = 200
Collection = AsyncCollection[dict[str, Any]]


def pending(n: int) -> dict[str, Any]:
    """A document with one event still to publish."""
    entry = {"event_id": f"event-{n}", "type": "case.assigned", "body": "x" * 500}
    return {**document(n), OUTBOX: [entry], OUTBOX_SINCE: datetime.now(UTC)}


async def one_write_each(collection: Collection, ids: list[int]) -> int:
    """The relay before: a write per document, conditional on the outbox read."""
    writes = [
        UpdateOne({"_id": n, OUTBOX: {"$size": 1}, f"{OUTBOX}.0.event_id": f"event-{n}"}, CLEARED)
        for n in ids
    ]
    return (await collection.bulk_write(writes, ordered=False)).modified_count


async def one_update_many(
    collection: Collection, ids: list[int], published: list[str] | None = None
) -> int:
    """The relay now: the batch's documents whose outbox holds only published events (by
    default each document's own `event-<id>`)."""
    published = published or [f"event-{n}" for n in ids]
    unpublished = {"$elemMatch": {"event_id": {"$nin": published}}}
    only_published = {"_id": {"$in": ids}, OUTBOX: {"$not": unpublished}}
    return (await collection.update_many(only_published, CLEARED)).modified_count


async def in_parts(collection: Collection, ids: list[int], event_id: str | None = None) -> int:
    """The relay now: the same condition, `CLEAR_PART` documents per part, one command
    (`event_id`: the one event each document holds; by default the one `pending` gave it)."""
    docs = [{"_id": n, OUTBOX: [{"event_id": event_id or f"event-{n}"}]} for n in ids]
    return (await collection.bulk_write(clearing_writes(docs), ordered=False)).modified_count


async def by_id_alone(collection: Collection, ids: list[int]) -> int:
    """Tried: the parts found by `_id` alone (which the server looks up directly), each
    document's published entries filtered out by an update pipeline that removes the outbox
    once it is empty, so no other condition is needed."""
    writes = []
    for start in range(0, len(ids), CLEAR_PART):
        part = ids[start : start + CLEAR_PART]
        published = [f"event-{n}" for n in part]
        unpublished = {"$not": [{"$in": ["$$this.event_id", published]}]}
        emptied = {"$eq": [{"$size": f"${OUTBOX}"}, 0]}
        pipeline: list[dict[str, Any]] = [
            {"$set": {OUTBOX: {"$filter": {"input": f"${OUTBOX}", "cond": unpublished}}}},
            {
                "$set": {
                    OUTBOX: {"$cond": [emptied, "$$REMOVE", f"${OUTBOX}"]},
                    OUTBOX_SINCE: {"$cond": [emptied, "$$REMOVE", f"${OUTBOX_SINCE}"]},
                }
            },
        ]
        writes.append(UpdateMany({"_id": {"$in": part}}, pipeline))
    return (await collection.bulk_write(writes, ordered=False)).modified_count


async def cost(
    collection: Collection,
    pid: int,
    docs: int,
    clear: Callable[[Collection, list[int]], Awaitable[int]],
) -> tuple[float, float]:
    """Database CPU and wall ms per document to clear `docs` stored outboxes with `clear`."""
    await collection.delete_many({})
    await collection.insert_many([pending(n) for n in range(docs)])
    cpu, wall, cleared = cpu_seconds(pid), time.perf_counter(), 0
    for first in range(0, docs, CHUNK):
        cleared += await clear(collection, list(range(first, min(first + CHUNK, docs))))
    assert cleared == docs, f"cleared {cleared} of {docs}"
    return (cpu_seconds(pid) - cpu) * 1000 / docs, (time.perf_counter() - wall) * 1000 / docs


async def main(args: argparse.Namespace) -> None:
    """One line per way of clearing, measured after a first round that warms the server up."""
    async with embedded_database() as (client, pid):
        collection = client.bench.docs
        for k in range(min(args.indexes, FIELDS)):
            await collection.create_index([(f"f{k}", 1), ("_id", 1)])
        for name, clear in (
            ("one conditional write per document", one_write_each),
            ("one update_many per batch", one_update_many),
            (f"update_many per {CLEAR_PART} documents", in_parts),
            ("the same by _id alone, a pipeline", by_id_alone),
        ):
            await cost(collection, pid, args.docs, clear)
            cpu, wall = await cost(collection, pid, args.docs, clear)
            print(
                f"{name:36} {cpu:.3f} ms database CPU, {wall:.3f} ms wall per document"
                f" ({args.indexes + 1} indexes with _id)",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--indexes", type=int, default=10)
    run_bench(main(parser.parse_args()))
