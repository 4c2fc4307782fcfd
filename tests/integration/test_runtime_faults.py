"""The shared runtime under faults: leases given back, poison outbox entries moved aside,
a failing loop visible in /readyz and restarted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient, TestServer

from services.common.amqp import OutgoingMessage, Publisher, Topology
from services.common.clock import EPOCH
from services.common.mongo import MongoDatabase, mongo_database
from services.common.outbox import (
    LEASE,
    LEASE_UNTIL,
    OUTBOX,
    OUTBOX_SINCE,
    QUARANTINE,
    OutboxRelay,
    ensure_outbox_index,
    outbox_fields,
)
from services.common.runtime import Backoff
from services.common.service import Runtime, Service, create_service_app
from services.common.settings import CommonSettings
from tests.helpers import QueueProbe, report_event, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(mongo_url: str, db_name: str) -> AsyncIterator[MongoDatabase]:
    async with mongo_database(mongo_url, db_name, timeout_ms=5000) as database:
        await ensure_outbox_index(database.docs)
        yield database


class FailingPublisher(Publisher):
    """A publisher whose every publish fails as an unexpected error would."""

    def __init__(self) -> None:
        pass

    async def publish_many(
        self, messages: Iterable[OutgoingMessage], *, timeout: float = 10
    ) -> None:
        raise ValueError("publisher broke")


class RereadFails:
    """The outbox collection, except that the relay's re-read after leasing fails."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self._finds = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def find(self, *args: Any, **kwargs: Any) -> Any:
        self._finds += 1
        if self._finds == 2:
            raise TimeoutError("database stopped answering after the lease was taken")
        return self._collection.find(*args, **kwargs)


async def _pending(db: MongoDatabase, n: int) -> None:
    now = datetime.now(UTC)
    await db.docs.insert_many(
        [{"_id": f"doc-{i}", **outbox_fields([report_event(i)], now)} for i in range(n)]
    )


async def _leases(db: MongoDatabase) -> list[Any]:
    docs = await db.docs.find({}, {LEASE: 1, LEASE_UNTIL: 1}).to_list()
    return [(d.get(LEASE), d[LEASE_UNTIL].replace(tzinfo=UTC)) for d in docs]


async def test_a_failed_publish_gives_the_lease_back_at_once(db: MongoDatabase) -> None:
    await _pending(db, 3)
    relay = OutboxRelay(db.docs, FailingPublisher())
    with pytest.raises(ValueError, match="publisher broke"):
        await relay.publish_pending()
    assert await _leases(db) == [(None, EPOCH)] * 3


async def test_a_failure_between_lease_and_publish_gives_the_lease_back(
    db: MongoDatabase, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    await _pending(db, 2)
    publisher = await Publisher.open(amqp_connection, topology)
    relay = OutboxRelay(RereadFails(db.docs), publisher)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        await relay.publish_pending()
    assert await _leases(db) == [(None, EPOCH)] * 2
    probe = await QueueProbe.bind(amqp_connection, topology, "report.#")
    assert await OutboxRelay(db.docs, publisher).publish_pending() == 2
    await probe.wait_for(2)


async def test_a_poison_outbox_entry_is_quarantined_and_the_rest_published(
    db: MongoDatabase, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    await _pending(db, 2)
    now = datetime.now(UTC)
    good = outbox_fields([report_event(9)], now)[OUTBOX][0]
    garbage = {"event_id": "x", "type": "report.submitted", "routing_key": "report.submitted"}
    await db.docs.insert_one({"_id": "mixed", **outbox_fields([], now), OUTBOX: [good, garbage]})
    await db.docs.insert_one({"_id": "not-a-list", **outbox_fields([], now), OUTBOX: "garbage"})
    probe = await QueueProbe.bind(amqp_connection, topology, "report.#")
    relay = OutboxRelay(db.docs, await Publisher.open(amqp_connection, topology))
    assert await relay.publish_pending() == 3
    await probe.wait_for(3)
    assert await db.docs.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 0
    mixed = await db.docs.find_one({"_id": "mixed"})
    assert mixed is not None and mixed[OUTBOX] == []
    (kept,) = mixed[QUARANTINE]
    assert kept["entry"] == garbage and "body" in kept["error"]
    broken = await db.docs.find_one({"_id": "not-a-list"})
    assert broken is not None and broken[QUARANTINE][0]["entry"] == "garbage"
    assert await relay.publish_pending() == 0, "nothing left to retry"


async def test_a_loop_that_raises_shows_in_readyz_and_is_restarted(
    amqp_url: str, mongo_url: str, db_name: str, topology: Topology
) -> None:
    runs: list[int] = []
    recovered = asyncio.Event()

    async def scanner() -> None:
        runs.append(1)
        if len(runs) <= 2:
            raise KeyError("priority 'galactic' is unknown")
        recovered.set()
        await asyncio.Event().wait()

    async def wire(runtime: Runtime) -> None:
        runtime.supervisor.backoff = Backoff(first=0.3, longest=0.3)
        runtime.loop("deadline-scanner", scanner)

    settings = CommonSettings(
        amqp_url=amqp_url, mongo_url=mongo_url, mongo_db=db_name, topology_prefix=topology.prefix
    )
    client = TestClient(TestServer(create_service_app(Service("test", settings, wire))))
    await client.start_server()
    try:

        async def reported_down() -> dict[str, Any] | None:
            response = await client.get("/readyz")
            body: dict[str, Any] = await response.json()
            return (
                body
                if response.status == 503 and not body["checks"]["loop:deadline-scanner"]
                else None
            )

        body = await wait_until(reported_down, what="/readyz naming the failed loop")
        assert body["checks"]["database"] is True
        async with asyncio.timeout(15):
            await recovered.wait()

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await wait_until(ready, what="/readyz ready once the loop runs again")
    finally:
        await client.close()
