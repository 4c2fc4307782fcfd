"""SecantusDB's cost of updating a document, by how many indexes its collection has.

    python -m bench.update_cost [--docs 2000] [--indexes 0 5 10]
                                [--conditions | --statements | --absent-index]

Starts a fresh on-disk SecantusDB (journaled writes, as the services run it) and, per count of
secondary indexes, inserts `--docs` documents (ten indexable string fields and 1.5 KB of
padding) and updates a field that no index covers, 200 documents per `update_many`. Prints
the server's CPU milliseconds per document for the update and the insert. The server deletes
and rewrites every index entry of an updated document, changed or not, so the cost of an
update grows with the collection's indexes; it is why each write that marks an outbox entry
sent, re-arms a deadline or follows a status costs the embedded database far more than the
insert that stored the document.

With `--conditions`, per count of indexes, it updates each document once by a write of its
own (20 to a `bulk_write`, as the services' conditional writes go) and prints the server's
CPU per document by the filter: the `_id` alone, then the `_id` with one more condition the
document meets, in the forms the services write (a field that must be absent; a revision
that must be the one read, bare or as `$eq`; two such fields). The server looks up `{_id: …}`
alone directly; any other filter is first planned against every index of the collection.

With `--statements`, on a copy of intake's `reports` (its indexes, documents of a report's
size, never linked), it links every report to a case of its own in groups of 1 to 100 reports
(one consumer batch's first events) in two ways: a conditional statement per report in one
`bulk_write`, as intake linked them before, and the statements of `plan_first_links` (one
pipeline update for up to `LINK_PART` reports), as it links them now. Prints the server's CPU
per report of each and their ratio.

With `--absent-index`, per count of indexes, it updates each document once by `_id` and a
revision (20 to a `bulk_write`) and inserts as many (20 to an `insert_many`), on a collection
with and without one more index: sparse, on a field no document has, as the clearing relay's
`outbox_pending` index is on collections whose writes are kept for the change-stream relay.
Alternately, `--rounds` times; prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from bench.common import cpu_seconds, embedded_database, run_bench
from services.intake.labels import RECEIVED
from services.intake.repository import ReportRepository
from services.intake.status import plan_first_links, plan_link

FIELDS = 10
ABSENT = "outbox_since"  # the clearing relay's field, which no write for the stream sets
CHUNK = 200
STATEMENTS = 20  # conditional writes to a bulk_write

# One document by its `_id`, and but for the first one more condition that it meets.
CONDITIONS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "_id alone": lambda key: {"_id": key},
    "_id, a field absent ($exists: false)": lambda key: {"_id": key, "gone": {"$exists": False}},
    "_id, a revision": lambda key: {"_id": key, "v": 0},
    "_id, a revision ($eq)": lambda key: {"_id": key, "v": {"$eq": 0}},
    "_id, a revision and a field's value": lambda key: {"_id": key, "v": 0, "f0": f"value{key}-0"},
}


def document(key: Any) -> dict[str, Any]:
    """A document with every indexable field set and an unindexed counter."""
    return {
        "_id": key,
        "v": 0,
        **{f"f{k}": f"value{key}-{k}" for k in range(FIELDS)},
        "pad": "y" * 1500,
    }


async def indexed(
    client: AsyncMongoClient[dict[str, Any]],
    name: str,
    docs: int,
    indexes: int,
    *,
    absent: bool = False,
) -> AsyncCollection[dict[str, Any]]:
    """A new collection with `indexes` secondary indexes (and with `absent`, one more: sparse,
    on a field no document has) holding `docs` documents."""
    collection = client.bench[name]
    for k in range(indexes):
        await collection.create_index([(f"f{k}", 1), ("_id", 1)])
    if absent:
        await collection.create_index(ABSENT, sparse=True)
    await collection.insert_many([document(n) for n in range(docs)])
    return collection


async def costs(
    client: AsyncMongoClient[dict[str, Any]], pid: int, docs: int, indexes: int
) -> tuple[float, float]:
    """CPU ms per document of the update and of the insert, with `indexes` secondary indexes."""
    collection = await indexed(client, f"indexes_{indexes}", docs, indexes)
    before = cpu_seconds(pid)
    for first in range(0, docs, CHUNK):
        ids = list(range(first, min(first + CHUNK, docs)))
        await collection.update_many({"_id": {"$in": ids}}, {"$inc": {"v": 1}})
    update = (cpu_seconds(pid) - before) * 1000 / docs
    before = cpu_seconds(pid)
    await collection.insert_many([document(f"more-{n}") for n in range(docs)])
    return update, (cpu_seconds(pid) - before) * 1000 / docs


async def condition_costs(
    client: AsyncMongoClient[dict[str, Any]], pid: int, docs: int, indexes: int
) -> dict[str, float]:
    """CPU ms per document of updating each document once by a write of its own, by filter."""
    spent = {}
    for number, (name, condition) in enumerate(CONDITIONS.items()):
        collection = await indexed(client, f"conditions_{indexes}_{number}", docs, indexes)
        before = cpu_seconds(pid)
        await update_each(collection, docs, condition, name)
        spent[name] = (cpu_seconds(pid) - before) * 1000 / docs
    return spent


async def update_each(
    collection: AsyncCollection[dict[str, Any]],
    docs: int,
    condition: Callable[[Any], dict[str, Any]],
    name: str,
) -> None:
    """Update each of the `docs` documents once by a write of its own found by `condition`,
    `STATEMENTS` to a `bulk_write`, as the services' conditional writes go."""
    for first in range(0, docs, STATEMENTS):
        keys = range(first, min(first + STATEMENTS, docs))
        writes = [UpdateOne(condition(key), {"$inc": {"v": 1}}) for key in keys]
        result = await collection.bulk_write(writes, ordered=False)
        assert result.modified_count == len(writes), f"{name}: a document did not match"


async def absent_index_cost(
    client: AsyncMongoClient[dict[str, Any]], pid: int, docs: int, indexes: int, absent: bool
) -> tuple[float, float]:
    """CPU ms per document of a conditional update (`_id` and a revision, 20 to a
    `bulk_write`, as the services' claims and links go) and of an insert, with `indexes`
    secondary indexes and (`absent`) an empty sparse one."""
    name = f"absent_{indexes}_{absent}_{uuid.uuid4().hex[:6]}"
    collection = await indexed(client, name, docs, indexes, absent=absent)
    before = cpu_seconds(pid)
    revision = "_id, a revision"
    await update_each(collection, docs, CONDITIONS[revision], revision)
    update = (cpu_seconds(pid) - before) * 1000 / docs
    before = cpu_seconds(pid)
    for first in range(0, docs, STATEMENTS):
        more = [document(f"more-{n}") for n in range(first, min(first + STATEMENTS, docs))]
        await collection.insert_many(more)
    insert = (cpu_seconds(pid) - before) * 1000 / docs
    await collection.drop()
    return update, insert


async def absent_index(
    client: AsyncMongoClient[dict[str, Any]], pid: int, args: argparse.Namespace
) -> None:
    """Per count of indexes, the writes with and without an empty sparse index, alternately."""
    for indexes in args.indexes:
        runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(args.rounds):
            for absent in (False, True):
                runs[absent].append(
                    await absent_index_cost(client, pid, args.docs, indexes, absent)
                )
        (update, insert), (update_with, insert_with) = (
            (statistics.median(u for u, _ in runs[a]), statistics.median(i for _, i in runs[a]))
            for a in (False, True)
        )
        print(
            f"{indexes + 1:2} indexes (with _id): conditional update {update:.3f} ms/doc, with an"
            f" empty sparse index {update_with:.3f} ({update_with / update:.2f}x); insert"
            f" {insert:.3f}, with it {insert_with:.3f} ({insert_with / insert:.2f}x)"
            f" (database CPU, median of {args.rounds})"
        )


GROUPS = (1, 2, 3, 5, 10, 25, 100)
AT = datetime(2026, 12, 1, tzinfo=UTC)
STATE = {
    "agency": "police:79",
    "status": "assigned",
    "version": 1,
    "event_type": "case.assigned",
    "outcome": None,
    "decision": None,
    "at": AT,
}


def report(key: int) -> dict[str, Any]:
    """A stored report not yet linked to a case, of about a report's size."""
    return {
        "_id": f"report-{key}",
        "tracking_code": f"CODE-{key:08d}",
        "report": {"description": "y" * 1500, "url": f"https://example.com/page/{key}"},
        "submitted_at": AT,
        "updated_at": AT,
        "status": RECEIVED,
        "history": [{"status": RECEIVED, "at": AT}],
    }


async def link_cost(
    client: AsyncMongoClient[dict[str, Any]], pid: int, docs: int, group: int, together: bool
) -> float:
    """CPU ms per report of linking `docs` new reports, `group` at a time: a statement each,
    or (`together`) `plan_first_links`' statements."""
    db = client[f"links_{uuid.uuid4().hex[:8]}"]
    await ReportRepository(db).ensure_indexes()
    await db.reports.insert_many([report(n) for n in range(docs)])
    before = cpu_seconds(pid)
    for first in range(0, docs, group):
        links = [
            (f"report-{n}", plan_link({"status": RECEIVED}, {**STATE, "case_id": f"case-{n}"}, AT))
            for n in range(first, min(first + group, docs))
        ]
        writes = (
            plan_first_links(links)
            if together
            else [write for link in links for write in plan_first_links([link])]
        )
        result = await db.reports.bulk_write(writes, ordered=False)
        assert result.modified_count == len(links), "a report did not match"
    spent = (cpu_seconds(pid) - before) * 1000 / docs
    linked = await db.reports.find_one({"_id": "report-1"})
    assert linked is not None and linked["case"]["case_id"] == "case-1", linked
    await client.drop_database(db.name)
    return spent


async def main(args: argparse.Namespace) -> None:
    """One line per count of indexes (with `--conditions`, one per filter as well)."""
    async with embedded_database() as (client, pid):
        if args.absent_index:
            await absent_index(client, pid, args)
            return
        if args.statements:
            for group in GROUPS:
                each, together = [], []
                for _ in range(args.rounds):  # alternately, so both see the same machine
                    each.append(await link_cost(client, pid, args.docs, group, together=False))
                    together.append(await link_cost(client, pid, args.docs, group, together=True))
                first, second = statistics.median(each), statistics.median(together)
                print(
                    f"reports linked {group:3} at a time: a statement each {first:.3f} ms/report,"
                    f" plan_first_links {second:.3f} ms/report ({second / first:.2f}x)"
                    f" (database CPU, median of {args.rounds})"
                )
            return
        for indexes in args.indexes:
            if args.conditions:
                by_filter = await condition_costs(client, pid, args.docs, indexes)
                alone = by_filter["_id alone"]
                for name, cost in by_filter.items():
                    print(
                        f"{indexes + 1:2} indexes (with _id): one update by {name:<36}"
                        f" {cost:.3f} ms/doc ({cost / alone:.2f}x) (database CPU)"
                    )
            else:
                update, insert = await costs(client, pid, args.docs, indexes)
                print(
                    f"{indexes + 1:2} indexes (with _id): update of an unindexed field"
                    f" {update:.3f} ms/doc, insert {insert:.3f} ms/doc (database CPU)"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--indexes", type=int, nargs="+", default=[0, 5, 10])
    parser.add_argument(
        "--conditions",
        action="store_true",
        help="the cost of a write of its own per document, by the form of its filter",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="with --statements, --absent-index: runs of each"
    )
    parser.add_argument(
        "--absent-index",
        action="store_true",
        help="conditional updates and inserts with and without an empty sparse index",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="intake's links of reports to their cases: a statement each, or one for many",
    )
    run_bench(main(parser.parse_args()))
