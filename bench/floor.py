"""The floor: the database writes and confirmed publishes one report needs, done directly."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractRobustConnection
from pymongo.asynchronous.collection import AsyncCollection

from bench.common import cpu_now
from services.admin.databases import SETTINGS, database_name
from services.common.amqp import OutgoingMessage, Publisher, Topology
from services.common.mongo import mongo_database
from services.common.outbox import CLEARED, OUTBOX, OUTBOX_SINCE, QUARANTINE
from services.notify.deadlines import NEXT_DUE

INDEXES: list[tuple[str, dict[str, Any]]] = [
    ("tracking_code", {"unique": True}),
    ("idempotency_key", {"unique": True, "sparse": True}),
    ("outbox_since", {"sparse": True}),
]


def report_like(n: int, body: str) -> dict[str, Any]:
    """A document the size and shape of a stored report with its pending event."""
    now = datetime.now(UTC)
    return {
        "_id": uuid.uuid4().hex,
        "tracking_code": f"FLOOR-{n}-{uuid.uuid4().hex[:6]}",
        "report": {
            "description": "x" * 80,
            "content_urls": ["https://e.com/x"],
            "category": "scam_fraud",
        },
        "history": [{"status": "received", "at": now}],
        "outbox": [{"event_id": uuid.uuid4().hex, "body": body, "occurred_at": now}],
        "outbox_since": now,
    }


async def announce(
    collection: Any, document: dict[str, Any], publisher: Publisher, body: str
) -> None:
    """Insert a document, publish its event with a confirm, mark it sent: one at a time."""
    await collection.insert_one(document)
    await publisher.publish_many(
        [OutgoingMessage(uuid.uuid4().hex, "floor", "floor.nobody", body.encode())]
    )
    await collection.update_one(
        {"_id": document["_id"]}, {"$set": {"outbox": []}, "$unset": {"outbox_since": ""}}
    )


async def floor_rate(
    mongo_url: str,
    connection: AbstractRobustConnection,
    topology: Topology,
    *,
    count: int,
    concurrency: int,
) -> float:
    """Reports/s when each is: insert the report, publish its event with a confirm, mark it sent.

    The same document shape and indexes as intake, one write and one publish at a time: what
    a report needs with no batching at all.
    """
    publisher = await Publisher.open(connection, topology)
    body = '{"type": "report.submitted", "floor": true}' + " " * 700
    async with mongo_database(mongo_url, f"floor_{uuid.uuid4().hex[:8]}", timeout_ms=10_000) as db:
        for key, options in INDEXES:
            await db.reports.create_index(key, **options)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(count):
            queue.put_nowait(n)

        async def worker() -> None:
            while not queue.empty():
                await announce(db.reports, report_like(queue.get_nowait(), body), publisher, body)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
        await db.client.drop_database(db.name)
    await publisher.channel.close()
    return count / elapsed


async def system_floor_rate(
    mongo_url: str,
    connection: AbstractRobustConnection,
    topology: Topology,
    *,
    count: int,
    concurrency: int,
) -> float:
    """Reports/s when each gets, directly, the writes and confirmed publishes the system makes.

    Per report: intake's insert, publish and mark-sent; routing's case insert, publish and
    mark-sent; intake's status update; notify's deadline insert; and, as the report's case goes
    overdue, notify's claim, publish and mark-sent, its alert insert and routing's audit
    update. One at a time, no batching.
    """
    publisher = await Publisher.open(connection, topology)
    body = '{"type": "report.submitted", "floor": true}' + " " * 700
    async with mongo_database(mongo_url, f"floor_{uuid.uuid4().hex[:8]}", timeout_ms=10_000) as db:
        for key, options in INDEXES:
            await db.reports.create_index(key, **options)
            await db.cases.create_index(key, **options)
        await db.deadlines.create_index("next_due_at", sparse=True)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(count):
            queue.put_nowait(n)

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                report = report_like(n, body)
                await announce(db.reports, report, publisher, body)
                await announce(db.cases, report_like(n, body), publisher, body)
                await db.reports.update_one(
                    {"_id": report["_id"]}, {"$set": {"case": {"status": "assigned"}}}
                )
                deadline = {"_id": uuid.uuid4().hex, "next_due_at": datetime.now(UTC), "sent": 0}
                await db.deadlines.insert_one(deadline)
                await db.deadlines.update_one(
                    {"_id": deadline["_id"]}, {"$set": {"sent": 1}, "$unset": {"next_due_at": ""}}
                )
                await publisher.publish_many(
                    [OutgoingMessage(uuid.uuid4().hex, "floor", "floor.nobody", body.encode())]
                )
                await db.deadlines.update_one({"_id": deadline["_id"]}, {"$set": {"outbox": []}})
                await db.alerts.insert_one({"_id": uuid.uuid4().hex, "event": body})
                await db.cases.update_one(
                    {"tracking_code": report["tracking_code"]},
                    {"$push": {"audit": {"action": "escalated"}}},
                )

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
        await db.client.drop_database(db.name)
    await publisher.channel.close()
    return count / elapsed


# The whole system's floor, on its own servers: what one report makes each service write
# (`system_floor_rate` above predates the present writes and puts them all on one server).
# Each collection is a copy of the running system's: its indexes, and documents cloned from
# one it stored, so every write costs the database what the services' own write costs it.
COPIED = {
    "intake": ("reports", "case_states"),
    "routing": ("cases", "escalations"),
    "notify": ("deadlines", "alerts"),
}
OUTBOX_FIELDS = (OUTBOX, OUTBOX_SINCE, QUARANTINE)
INDEX_OPTIONS = ("unique", "sparse", "partialFilterExpression", "expireAfterSeconds")
EVENT_BODY = '{"type": "floor"}' + " " * 800  # about the size of a report's event


@dataclass
class Copied:
    """A copy of one of the system's collections: the same indexes, and a document it stored
    to clone (with a fresh `_id` and fresh values where an index is unique)."""

    collection: AsyncCollection[dict[str, Any]]
    sample: dict[str, Any]
    unique: list[str]

    @classmethod
    async def of(
        cls, source: AsyncCollection[dict[str, Any]], target: AsyncCollection[dict[str, Any]]
    ) -> Copied:
        """Copy `source`'s indexes onto `target`; keep one of its documents."""
        sample = await source.find_one({}, sort=[("_id", -1)])
        if sample is None:
            raise RuntimeError(f"{source.full_name} is empty: run the system before its floor")
        unique: list[str] = []
        async for index in await source.list_indexes():
            if index["name"] == "_id_":
                continue
            keys = list(index["key"].items())
            options = {k: index[k] for k in INDEX_OPTIONS if k in index}
            await target.create_index(keys, name=index["name"], **options)
            if index.get("unique"):
                unique.extend(key for key, _ in keys)
        return cls(target, {k: v for k, v in sample.items() if k not in OUTBOX_FIELDS}, unique)

    def clone(self, *, with_event: bool = False) -> dict[str, Any]:
        """A new document like the sample; carrying one pending event if `with_event`."""
        document = copy.deepcopy(self.sample)
        document["_id"] = uuid.uuid4().hex
        for path in self.unique:
            set_path(document, path, uuid.uuid4().hex)
        if with_event:
            now = datetime.now(UTC)
            document[OUTBOX] = [event_entry(now)]
            document[OUTBOX_SINCE] = now
        return document


def set_path(document: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, making the sub-documents on the way."""
    *parents, last = path.split(".")
    for part in parents:
        document = document.setdefault(part, {})
    document[last] = value


def event_entry(now: datetime) -> dict[str, Any]:
    """A pending outbox entry the size of a real one."""
    return {
        "event_id": uuid.uuid4().hex,
        "type": "floor",
        "routing_key": "floor.nobody",
        "body": EVENT_BODY,
        "occurred_at": now,
    }


@dataclass
class ReportFloor:
    """A report's writes and confirmed publishes, done directly on copies of the system's
    collections: per report, intake inserts the report with its event, publishes it and clears
    it; routing does the same with the case; notify stores the deadline; intake stores the case
    state and links the report to its case; notify claims the deadline with its escalation,
    publishes it, clears it and records the alert; routing records the escalation. Eleven
    writes (six inserts, five updates) and three publishes, as the system makes them; without
    `clears`, the three outbox clears are left out (what a relay that does not clear what it
    published would leave: eight writes, two of them updates)."""

    copies: dict[str, Copied]
    publisher: Publisher
    clears: bool = True

    async def reports(self, count: int) -> None:
        """`count` reports' writes, each write one command for all of them (batched when
        `count` > 1, one report at a time when 1)."""
        c = self.copies
        now = datetime.now(UTC)
        report_ids = await self._announce(c["reports"], count)
        await self._announce(c["cases"], count)
        due = {NEXT_DUE: now + timedelta(days=1)}
        deadline_ids = await self._insert(c["deadlines"], count, extra=due)
        await self._insert(c["case_states"], count)
        link = {
            "$set": {"case.case_id": uuid.uuid4().hex, "status": "assigned", "updated_at": now},
            "$push": {"history": {"status": "assigned", "at": now}},
        }
        await self._update(c["reports"], report_ids, link)
        claim = {
            "$set": {"sent": 1, "last_escalated_at": now, NEXT_DUE: now + timedelta(days=2)},
            "$inc": {"rev": 1},
            "$push": {OUTBOX: event_entry(now)},
            "$min": {OUTBOX_SINCE: now},
        }
        await self._update(c["deadlines"], deadline_ids, claim)
        await self._publish(count)
        await self._clear(c["deadlines"], deadline_ids)
        await self._insert(c["alerts"], count)
        await self._insert(c["escalations"], count)

    async def _insert(
        self,
        copied: Copied,
        count: int,
        *,
        event: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> list[Any]:
        documents = [copied.clone(with_event=event) | (extra or {}) for _ in range(count)]
        if count == 1:
            await copied.collection.insert_one(documents[0])
        else:
            await copied.collection.insert_many(documents)
        return [d["_id"] for d in documents]

    async def _update(self, copied: Copied, ids: list[Any], update: dict[str, Any]) -> None:
        if len(ids) == 1:
            await copied.collection.update_one({"_id": ids[0]}, update)
        else:
            await copied.collection.update_many({"_id": {"$in": ids}}, update)

    async def _publish(self, count: int) -> None:
        await self.publisher.publish_many(
            [
                OutgoingMessage(uuid.uuid4().hex, "floor", "floor.nobody", EVENT_BODY.encode())
                for _ in range(count)
            ]
        )

    async def _announce(self, copied: Copied, count: int) -> list[Any]:
        """Insert documents with their events, publish the events, clear them."""
        ids = await self._insert(copied, count, event=True)
        await self._publish(count)
        await self._clear(copied, ids)
        return ids

    async def _clear(self, copied: Copied, ids: list[Any]) -> None:
        if self.clears:
            await self._update(copied, ids, CLEARED)


@dataclass(frozen=True)
class Floor:
    """What a floor run measured."""

    rate: float  # reports/s
    database_cpu_ms: float  # per report, summed over the servers


async def report_floor(
    mongo_urls: dict[str, str],
    database_pids: dict[str, int],
    connection: AbstractRobustConnection,
    topology: Topology,
    *,
    reports: int,
    concurrency: int,
    batch: int,
    clears: bool = True,
) -> Floor:
    """`reports` reports' writes and publishes (`ReportFloor`) on each service's own server
    (`mongo_urls`, by service), in a database of the floor's own beside the service's, dropped
    afterwards: `concurrency` workers each taking `batch` reports at a time (1: no batching at
    all); `clears`: as `ReportFloor`'s."""
    name = f"floor_{uuid.uuid4().hex[:8]}"
    async with contextlib.AsyncExitStack() as stack:
        publisher = await Publisher.open(connection, topology)
        stack.push_async_callback(publisher.channel.close)
        copies: dict[str, Copied] = {}
        for service, collections in COPIED.items():
            url = mongo_urls[service]
            own = database_name(SETTINGS[service])
            source = await stack.enter_async_context(mongo_database(url, own, timeout_ms=30_000))
            target = await stack.enter_async_context(mongo_database(url, name, timeout_ms=30_000))
            stack.push_async_callback(target.client.drop_database, name)
            for collection in collections:
                copies[collection] = await Copied.of(source[collection], target[collection])
        floor = ReportFloor(copies, publisher, clears)
        sizes = [min(batch, reports - n) for n in range(0, reports, batch)]

        async def worker() -> None:
            while sizes:
                await floor.reports(sizes.pop())

        cpu_before = sum(cpu_now(database_pids).values())
        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
        cpu = sum(cpu_now(database_pids).values()) - cpu_before
    return Floor(reports / elapsed, cpu * 1000 / reports)
