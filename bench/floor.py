"""The floor: the database writes and confirmed publishes one report needs, done directly."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import OutgoingMessage, Publisher, Topology
from services.common.mongo import mongo_database

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
