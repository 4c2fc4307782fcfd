"""The change-stream relay against a real broker and a database that keeps an oplog (as
`./scripts/run` starts the embedded one): every event once, nothing rewritten once published,
a restart going on from the saved position, the broker's absence bridged by the spill."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from pymongo import InsertOne, UpdateOne

from services.common import outbox_stream
from services.common.amqp import Publisher, Topology
from services.common.clock import EPOCH
from services.common.contracts import ReportSubmitted
from services.common.mongo import MongoDatabase, mongo_database
from services.common.outbox import (
    LEASE_SECONDS,
    OUTBOX,
    OUTBOX_SINCE,
    QUARANTINE,
    RELAYS,
    ensure_outbox_index,
    may_hold_pending,
    outbox_fields,
    outbox_update,
    use_change_streams,
)
from services.common.outbox_stream import (
    POSITION,
    WRITES_WITH_EVENTS,
    ChangeStreamRelay,
    ensure_spill_index,
    keeps_oplog,
)
from services.common.runtime import cancel_and_wait
from tests.helpers import QueueProbe, report_event, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(oplog_mongo_url: str, db_name: str) -> AsyncIterator[MongoDatabase]:
    """The test's database, its writes keeping events for the change-stream relay."""
    use_change_streams(True)
    try:
        async with mongo_database(oplog_mongo_url, db_name, timeout_ms=5000) as database:
            assert await keeps_oplog(database)
            await ensure_spill_index(database)
            yield database
    finally:
        use_change_streams(False)


@pytest.fixture
async def probe(amqp_connection: AbstractRobustConnection, topology: Topology) -> QueueProbe:
    return await QueueProbe.bind(amqp_connection, topology, "report.submitted.#")


@pytest.fixture
async def publisher(amqp_connection: AbstractRobustConnection, topology: Topology) -> Publisher:
    return await Publisher.open(amqp_connection, topology)


async def insert_reports(db: MongoDatabase, count: int) -> list[ReportSubmitted]:
    """Reports stored each with its event, as intake stores them."""
    now = datetime.now(UTC)
    events = [report_event(n) for n in range(count)]
    await db.reports.insert_many([{"_id": e.report_id, **outbox_fields([e], now)} for e in events])
    return events


async def add_events(db: MongoDatabase, reports: list[ReportSubmitted]) -> list[ReportSubmitted]:
    """One more event on each stored report, as a later write carrying an event stores it."""
    later = [report_event(n, report_id=r.report_id) for n, r in enumerate(reports)]
    for event in later:
        await db.reports.update_one(
            {"_id": event.report_id}, outbox_update([event], datetime.now(UTC))
        )
    return later


class Running:
    """A relay run as the service runs it, cancelled at the end of the test."""

    def __init__(self, relay: ChangeStreamRelay) -> None:
        self.relay = relay
        self.task = asyncio.create_task(relay.run())

    async def stop(self) -> None:
        assert not await cancel_and_wait([self.task], seconds=5), "the relay did not stop"


def relay_of(db: MongoDatabase, publisher: Publisher | None, **options: Any) -> ChangeStreamRelay:
    return ChangeStreamRelay(db.reports, publisher, **({"poll_seconds": 0.1} | options))


def ids(events: list[Any]) -> list[str]:
    return sorted(e.event_id for e in events)


async def saved_at_the_end(db: MongoDatabase) -> bool:
    """Whether the saved position is the stream's end: no write with events after it."""
    lease = await db[RELAYS].find_one({"_id": "reports"})
    if lease is None or lease.get(POSITION) is None:
        return False
    async with await db.reports.watch(
        WRITES_WITH_EVENTS, resume_after=lease[POSITION], max_await_time_ms=1
    ) as stream:
        return await stream.try_next() is None


async def test_each_write_s_events_are_published_once_and_never_cleared(
    db: MongoDatabase, probe: QueueProbe, publisher: Publisher
) -> None:
    running = Running(relay_of(db, publisher, batch=20))
    first = await insert_reports(db, 30)
    later = await add_events(db, first)
    await probe.wait_for(60)
    events = await probe.flush()
    await running.stop()
    assert ids(events) == ids(first + later)
    # Each document holds its last write's events alone, pending nothing: no second write.
    for doc in await db.reports.find({}).to_list():
        assert [entry["event_id"] for entry in doc[OUTBOX]] in [[e.event_id] for e in later]
        assert OUTBOX_SINCE not in doc
    lease = await db[RELAYS].find_one({"_id": "reports"})
    assert lease is not None and lease[POSITION] is not None


async def test_a_restarted_relay_goes_on_from_its_saved_position(
    db: MongoDatabase, probe: QueueProbe, publisher: Publisher
) -> None:
    running = Running(relay_of(db, publisher))
    before = await insert_reports(db, 10)
    await probe.wait_for(10)

    await wait_until(lambda: saved_at_the_end(db), what="the position of the last batch saved")
    await running.stop()
    await db[RELAYS].update_one({"_id": "reports"}, {"$set": {"until": datetime.now(UTC)}})
    meanwhile = await insert_reports(db, 10)  # written while no relay runs
    restarted = Running(relay_of(db, publisher))
    await probe.wait_for(20)
    events = await probe.flush()
    await restarted.stop()
    assert ids(events) == ids(before + meanwhile)


async def test_a_stopped_relay_saves_what_it_published_and_hands_the_collection_over(
    db: MongoDatabase, probe: QueueProbe, publisher: Publisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped between two saves of its position, a relay saves it and gives up its lease in
    one write on its way out: the relay after it starts at once and publishes nothing again."""
    monkeypatch.setattr(outbox_stream, "SAVE_SECONDS", 60.0)  # no save between batches
    first = await insert_reports(db, 10)  # the first batch, read as the relay starts
    relay = relay_of(db, publisher, poll_seconds=60)  # then reads only when woken
    running = Running(relay)
    await probe.wait_for(10)
    second = await insert_reports(db, 10)
    relay.wake()
    await probe.wait_for(20)
    assert not await saved_at_the_end(db)  # published since the last save
    await running.stop()
    lease = await db[RELAYS].find_one({"_id": "reports"})
    assert lease is not None and lease["until"] == EPOCH
    assert await saved_at_the_end(db)
    after = Running(relay_of(db, publisher))
    third = await insert_reports(db, 5)

    async def third_published() -> bool:  # anything published again would go out before
        return set(ids(third)) <= {event.event_id for event in probe.events}

    # It need not wait for the lease to run out.
    await wait_until(third_published, timeout=LEASE_SECONDS / 2, what="the third batch")
    events = await probe.flush()
    await after.stop()
    assert ids(events) == ids(first + second + third)


async def test_writes_made_before_the_relay_first_ran_are_published(
    db: MongoDatabase, probe: QueueProbe, publisher: Publisher
) -> None:
    written = await insert_reports(db, 15)
    running = Running(relay_of(db, publisher))
    await probe.wait_for(15)
    events = await probe.flush()
    await running.stop()
    assert ids(events) == ids(written)


async def test_a_backlog_is_read_on_though_a_reply_holds_fewer_changes_than_a_batch(
    db: MongoDatabase, probe: QueueProbe, publisher: Publisher
) -> None:
    """SecantusDB reads 200 oplog entries of a collection per reply and filters them after, so
    with writes that store no event between those that do (intake links each report to its
    case), a reply holds about 100 changes while more wait behind it: only a reply with none
    is the stream's end, or the rest would wait for the poll."""
    events = [report_event(n) for n in range(300)]
    now = datetime.now(UTC)
    writes: list[InsertOne[dict[str, Any]] | UpdateOne] = []
    for event in events:
        writes.append(InsertOne({"_id": event.report_id, **outbox_fields([event], now)}))
        writes.append(UpdateOne({"_id": event.report_id}, {"$set": {"case_id": "a case"}}))
    await db.reports.bulk_write(writes)
    running = Running(relay_of(db, publisher, poll_seconds=60))  # no wake: reads go on alone
    await probe.wait_for(300)
    published = await probe.flush()
    await running.stop()
    assert ids(published) == ids(events)


async def test_events_read_while_the_broker_is_away_wait_in_the_spill(
    db: MongoDatabase, probe: QueueProbe, publisher: Publisher
) -> None:
    relay = relay_of(db, None)  # not connected yet
    running = Running(relay)
    written = await insert_reports(db, 12)

    async def spilled() -> bool:
        return await relay.backlog() == 12

    await wait_until(spilled, what="the events kept in the spill")
    assert await probe.flush() == []
    relay.publisher = publisher  # connected
    await probe.wait_for(12)

    async def drained() -> bool:
        return await relay.backlog() == 0

    await wait_until(drained, what="the spill emptied")
    events = await probe.flush()
    await running.stop()
    assert ids(events) == ids(written)


async def test_an_entry_that_cannot_be_published_is_quarantined_and_the_rest_go_out(
    db: MongoDatabase, probe: QueueProbe, publisher: Publisher
) -> None:
    running = Running(relay_of(db, publisher))
    await db.reports.insert_one({"_id": "broken", OUTBOX: [{"event_id": "x", "type": 7}]})
    written = await insert_reports(db, 5)
    await probe.wait_for(5)

    async def quarantined() -> bool:
        return await db.reports.count_documents({f"{QUARANTINE}.0": {"$exists": True}}) == 1

    await wait_until(quarantined, what="the broken entry quarantined")
    events = await probe.flush()
    await running.stop()
    assert ids(events) == ids(written)
    broken = await db.reports.find_one({"_id": "broken"})
    assert broken is not None and broken[QUARANTINE][0]["entry"] == {"event_id": "x", "type": 7}


async def test_outboxes_left_pending_for_the_clearing_relay_are_published_and_cleared(
    db: MongoDatabase, probe: QueueProbe, publisher: Publisher
) -> None:
    use_change_streams(False)  # written before the database kept an oplog
    await ensure_outbox_index(db.reports)  # as the services did at start then
    earlier = await insert_reports(db, 8)
    use_change_streams(True)
    running = Running(relay_of(db, publisher))
    await probe.wait_for(8)

    async def cleared() -> bool:
        return await db.reports.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 0

    async def index_dropped() -> bool:
        return not await may_hold_pending(db.reports)

    await wait_until(cleared, what="the pending outboxes cleared")
    await wait_until(index_dropped, what="the clearing relay's index dropped")
    events = await probe.flush()
    await running.stop()
    # This server kept an oplog when they were written, so the stream holds them too and they
    # may go out twice (consumers are idempotent); after a switch from a standalone server
    # there is no oplog of them.
    assert set(ids(events)) == set(ids(earlier))


async def test_writes_kept_for_the_stream_get_no_pending_index(db: MongoDatabase) -> None:
    await ensure_outbox_index(db.reports)
    await insert_reports(db, 2)
    await db.reports.update_one({}, outbox_update([report_event(9)], datetime.now(UTC)))
    assert not await may_hold_pending(db.reports)
    assert await db.reports.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 0
    use_change_streams(False)
    await ensure_outbox_index(db.reports)
    assert await may_hold_pending(db.reports)


async def test_one_relay_at_a_time_publishes_a_collection(
    db: MongoDatabase, probe: QueueProbe, publisher: Publisher
) -> None:
    relays = [Running(relay_of(db, publisher)), Running(relay_of(db, publisher))]
    written = await insert_reports(db, 40)
    await probe.wait_for(40)
    await asyncio.sleep(0.5)  # time for the other relay to publish them again, if it would
    events = await probe.flush()
    for running in relays:
        await running.stop()
    assert ids(events) == ids(written)
