"""The shared runtime under faults: leases given back, poison outbox entries moved aside,
a failing loop visible in /readyz and restarted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient, TestServer

from services.common.amqp import OutgoingMessage, Publisher, Topology
from services.common.mongo import MongoDatabase, mongo_database
from services.common.outbox import (
    CLEAR_PART,
    OUTBOX,
    OUTBOX_SINCE,
    QUARANTINE,
    RELAYS,
    OutboxRelay,
    ensure_outbox_index,
    outbox_fields,
    outbox_update,
)
from services.common.runtime import Backoff
from services.common.service import Runtime, Service, create_service_app
from services.common.settings import CommonSettings
from tests.helpers import CountedReads, QueueProbe, report_event, wait_until

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


class RacingWriter(Publisher):
    """Publishes through `inner`; meanwhile `doc_id`'s outbox changes: `cleared_first` as if
    another relay had published and cleared it, then a writer appends an event (as a state
    change arriving while this relay's batch is on its way would)."""

    def __init__(
        self, inner: Publisher, db: MongoDatabase, doc_id: str, *, cleared_first: bool = False
    ) -> None:
        self._inner, self._db, self._doc_id = inner, db, doc_id
        self.cleared_first = cleared_first
        self.late = report_event(77)

    async def publish_many(
        self, messages: Iterable[OutgoingMessage], *, timeout: float = 10
    ) -> None:
        await self._inner.publish_many(messages, timeout=timeout)
        if self.cleared_first:
            await self._db.docs.update_one({"_id": self._doc_id}, {"$unset": {OUTBOX: ""}})
        late = outbox_update([self.late], datetime.now(UTC))
        await self._db.docs.update_one({"_id": self._doc_id}, late)


class SlowWrites:
    """The outbox collection on a loaded database: every write takes `seconds`."""

    def __init__(self, collection: Any, seconds: float) -> None:
        self._collection, self.seconds = collection, seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    async def bulk_write(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(self.seconds)
        return await self._collection.bulk_write(*args, **kwargs)

    async def update_many(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(self.seconds)
        return await self._collection.update_many(*args, **kwargs)


class ReadFails:
    """The outbox collection, except that reading pending documents fails (after the relay
    has taken its lease on the collection)."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def find(self, *args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("database stopped answering after the lease was taken")


async def _pending(db: MongoDatabase, n: int) -> None:
    now = datetime.now(UTC)
    await db.docs.insert_many(
        [{"_id": f"doc-{i}", **outbox_fields([report_event(i)], now)} for i in range(n)]
    )


async def _lease_free(db: MongoDatabase) -> bool:
    """Whether no relay holds the `docs` collection's outbox now."""
    lease = await db[RELAYS].find_one({"_id": "docs"})
    return lease is not None and lease["until"].replace(tzinfo=UTC) <= datetime.now(UTC)


async def test_a_failed_publish_gives_the_lease_back_at_once(db: MongoDatabase) -> None:
    await _pending(db, 3)
    relay = OutboxRelay(db.docs, FailingPublisher())
    with pytest.raises(ValueError, match="publisher broke"):
        await relay.publish_pending()
    assert await _lease_free(db)
    assert await db.docs.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 3


async def test_a_failure_after_taking_the_lease_gives_it_back_to_another_relay(
    db: MongoDatabase, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    await _pending(db, 2)
    publisher = await Publisher.open(amqp_connection, topology)
    relay = OutboxRelay(ReadFails(db.docs), publisher)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        await relay.publish_pending()
    assert await _lease_free(db)
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
    assert mixed is not None and OUTBOX not in mixed
    (kept,) = mixed[QUARANTINE]
    assert kept["entry"] == garbage and "body" in kept["error"]
    broken = await db.docs.find_one({"_id": "not-a-list"})
    assert broken is not None and broken[QUARANTINE][0]["entry"] == "garbage"
    assert await relay.publish_pending() == 0, "nothing left to retry"


@pytest.mark.parametrize("cleared_first", [False, True], ids=["appended", "cleared-and-refilled"])
@pytest.mark.parametrize(
    ("pending", "racing_id"),
    # A batch is cleared in parts of CLEAR_PART documents: the raced document in a later one.
    [(3, "doc-1"), (2 * CLEAR_PART + 10, f"doc-{CLEAR_PART + 6}")],
    ids=["one-part", "later-part"],
)
async def test_an_event_added_while_its_document_is_published_stays_for_the_next_batch(
    db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    cleared_first: bool,
    pending: int,
    racing_id: str,
) -> None:
    await _pending(db, pending)
    publisher = await Publisher.open(amqp_connection, topology)
    probe = await QueueProbe.bind(amqp_connection, topology, "report.#")
    racing = RacingWriter(publisher, db, racing_id, cleared_first=cleared_first)
    relay = OutboxRelay(db.docs, racing)
    assert await relay.publish_pending() == pending
    doc = await db.docs.find_one({"_id": racing_id})
    assert doc is not None and [e["event_id"] for e in doc[OUTBOX]] == [racing.late.event_id], (
        "only the published entry was cleared"
    )
    assert await db.docs.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 1
    assert await OutboxRelay(db.docs, publisher).publish_pending() == 0, "lease still held"
    relay.publisher = publisher
    assert await relay.publish_pending() == 1
    received = await probe.wait_for(pending + 1)
    assert racing.late.event_id in {e.event_id for e in received}
    assert await db.docs.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 0


async def test_a_slow_round_halves_the_next_batch_and_quick_full_ones_restore_it(
    db: MongoDatabase, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    await _pending(db, 60)
    publisher = await Publisher.open(amqp_connection, topology)
    slow = SlowWrites(db.docs, seconds=0.3)
    relay = OutboxRelay(slow, publisher, batch=40, slow_round_seconds=0.2)  # type: ignore[arg-type]
    assert await relay.publish_pending() == 40
    assert relay.batch_size == 20, "the slow round halved the batch"
    assert await relay.publish_pending() == 20
    assert relay.batch_size == 10
    await _pending_more(db, 60)
    slow.seconds, relay.slow_round_seconds = 0.0, 100.0  # every round now counts as quick
    sizes = [await relay.publish_pending() for _ in range(3)]
    assert sizes == [10, 20, 30], "quick full rounds double the batch; the last takes what is left"
    assert relay.batch_size == 40, "never above the configured batch"


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


async def test_one_relay_at_a_time_publishes_a_collection_and_another_takes_over_a_lapsed_lease(
    db: MongoDatabase, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    publisher = await Publisher.open(amqp_connection, topology)
    probe = await QueueProbe.bind(amqp_connection, topology, "report.#")
    first, second = OutboxRelay(db.docs, publisher), OutboxRelay(db.docs, publisher)
    assert await first.publish_pending() == 0  # takes the lease; nothing pending yet
    await _pending(db, 3)
    assert await second.publish_pending() == 0, "the first relay holds the collection"
    assert await first.publish_pending() == 3
    await _pending_more(db, 2)
    later = OutboxRelay(db.docs, publisher, clock=lambda: datetime.now(UTC) + timedelta(seconds=13))
    assert await later.publish_pending() == 2, "the first relay's lease ran out"
    assert len(await probe.wait_for(5)) == 5
    assert await db.docs.count_documents({OUTBOX: {"$exists": True}}) == 0


async def _pending_more(db: MongoDatabase, n: int) -> None:
    now = datetime.now(UTC)
    await db.docs.insert_many(
        [{"_id": f"more-{i}", **outbox_fields([report_event(100 + i)], now)} for i in range(n)]
    )


async def test_a_relay_rewrites_its_lease_only_once_it_runs_low(
    db: MongoDatabase, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    publisher = await Publisher.open(amqp_connection, topology)
    now = datetime.now(UTC)
    clock = [now]
    relay = OutboxRelay(db.docs, publisher, clock=lambda: clock[0])

    async def lease_until() -> datetime:
        lease = await db[RELAYS].find_one({"_id": "docs"})
        assert lease is not None
        until: datetime = lease["until"].replace(tzinfo=UTC)
        return until

    await _pending(db, 2)
    assert await relay.publish_pending() == 2
    taken = await lease_until()
    clock[0] = now + timedelta(seconds=2)
    await _pending_more(db, 2)
    assert await OutboxRelay(db.docs, publisher).publish_pending() == 0, "another waits"
    assert await relay.publish_pending() == 2
    assert await lease_until() == taken, "a lease with most of it left is not written again"
    clock[0] = now + timedelta(seconds=3)
    assert await relay.publish_pending() == 0
    renewed = await lease_until()
    assert renewed > taken, "renewed once less than RENEW_BELOW was left"
    clock[0] = now + timedelta(seconds=1)  # the clock went back: the lease is written again
    assert await relay.publish_pending() == 0
    assert await lease_until() < renewed


class RecordingPublisher(Publisher):
    """Keeps the event ids it is asked to publish, in order."""

    def __init__(self) -> None:
        self.event_ids: list[str] = []

    async def publish_many(
        self, messages: Iterable[OutgoingMessage], *, timeout: float = 10
    ) -> None:
        self.event_ids.extend(m.event_id for m in messages)


async def test_a_relay_behind_reads_about_a_batch_per_round_and_misses_nothing(
    db: MongoDatabase,
) -> None:
    """600 pending documents, one every 100 ms; a straggler written late with an old time and
    one from a clock an hour ahead. Every event goes out once, oldest first, and after the
    first round no read matches more than a few batches, however long the backlog."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    events = [report_event(i) for i in range(600)]
    await db.docs.insert_many(
        [
            {"_id": f"doc-{i}", **outbox_fields([e], start + timedelta(seconds=i / 10))}
            for i, e in enumerate(events)
        ]
    )
    ahead = report_event(900)
    await db.docs.insert_one({"_id": "ahead", **outbox_fields([ahead], start + timedelta(hours=1))})
    publisher, reads = RecordingPublisher(), CountedReads(db.docs)
    relay = OutboxRelay(reads, publisher, batch=50)  # type: ignore[arg-type]
    straggler = report_event(901)
    rounds, before_late = 0, 0
    while await relay.backlog():
        assert await relay.publish_pending() > 0
        rounds += 1
        if rounds == 3:
            late = outbox_fields([straggler], start - timedelta(minutes=1))
            await db.docs.insert_one({"_id": "late", **late})
            before_late = len(publisher.event_ids)
    published = publisher.event_ids
    everything = [e.event_id for e in events] + [ahead.event_id, straggler.event_id]
    assert sorted(published) == sorted(everything)
    assert len(set(published)) == len(published), "each event once"
    assert published.index(straggler.event_id) == before_late, "first in the next round"
    assert published[:before_late] == [e.event_id for e in events[:before_late]]
    assert published[-1] == ahead.event_id
    assert reads.matched[0] == 601, "the first round, not yet behind, read everything"
    assert max(reads.matched[1:]) <= 150, reads.matched
    assert await db.docs.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 0
