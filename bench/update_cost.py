"""SecantusDB's cost of updating a document, by how many indexes its collection has.

    python -m bench.update_cost [--docs 2000] [--indexes 0 5 10]

Starts a fresh on-disk SecantusDB (journaled writes, as the services run it) and, per count of
secondary indexes, inserts `--docs` documents (ten indexable string fields and 1.5 KB of
padding) and updates a field that no index covers, 200 documents per `update_many`. Prints
the server's CPU milliseconds per document for the update and the insert. The server deletes
and rewrites every index entry of an updated document, changed or not, so the cost of an
update grows with the collection's indexes; it is why each write that marks an outbox entry
sent, re-arms a deadline or follows a status costs the embedded database far more than the
insert that stored the document.
"""

from __future__ import annotations

import argparse
from typing import Any

from pymongo import AsyncMongoClient

from bench.common import cpu_seconds, embedded_database, run_bench

FIELDS = 10
CHUNK = 200


def document(key: Any) -> dict[str, Any]:
    """A document with every indexable field set and an unindexed counter."""
    return {
        "_id": key,
        "v": 0,
        **{f"f{k}": f"value{key}-{k}" for k in range(FIELDS)},
        "pad": "y" * 1500,
    }


async def costs(
    client: AsyncMongoClient[dict[str, Any]], pid: int, docs: int, indexes: int
) -> tuple[float, float]:
    """CPU ms per document of the update and of the insert, with `indexes` secondary indexes."""
    collection = client.bench[f"indexes_{indexes}"]
    for k in range(indexes):
        await collection.create_index([(f"f{k}", 1), ("_id", 1)])
    await collection.insert_many([document(n) for n in range(docs)])
    before = cpu_seconds(pid)
    for first in range(0, docs, CHUNK):
        ids = list(range(first, min(first + CHUNK, docs)))
        await collection.update_many({"_id": {"$in": ids}}, {"$inc": {"v": 1}})
    update = (cpu_seconds(pid) - before) * 1000 / docs
    before = cpu_seconds(pid)
    await collection.insert_many([document(f"more-{n}") for n in range(docs)])
    return update, (cpu_seconds(pid) - before) * 1000 / docs


async def main(args: argparse.Namespace) -> None:
    """One line per count of indexes."""
    async with embedded_database() as (client, pid):
        for indexes in args.indexes:
            update, insert = await costs(client, pid, args.docs, indexes)
            print(
                f"{indexes + 1:2} indexes (with _id): update of an unindexed field"
                f" {update:.3f} ms/doc, insert {insert:.3f} ms/doc (database CPU)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--indexes", type=int, nargs="+", default=[0, 5, 10])
    run_bench(main(parser.parse_args()))
