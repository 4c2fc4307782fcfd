"""The shared plumbing against a real broker and database: confirms, dead-lettering, the outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from services.common.amqp import (
    Consumer,
    Publisher,
    QueueSpec,
    Topology,
    open_consumer_channel,
)
from services.common.contracts import (
    AnyEvent,
)
from services.common.mongo import mongo_database
from services.common.outbox import OUTBOX_SINCE, OutboxRelay, ensure_outbox_index, outbox_fields
from tests.helpers import QueueProbe, get_all, publish_raw, report_event, wait_until

pytestmark = pytest.mark.integration


async def test_published_event_arrives_persistent_with_its_event_id(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.#")
    publisher = await Publisher.open(amqp_connection, topology)
    event = report_event(0)
    await publisher.publish(event)
    (received,) = await probe.wait_for(1)
    message = probe.messages[0]
    assert received == event
    assert message.message_id == event.event_id
    assert message.delivery_mode == 2
    assert message.content_type == "application/json"
    assert message.type == "report.submitted"


async def test_unroutable_message_lands_in_the_unroutable_queue(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(report_event(0))  # nothing is bound to report.submitted here

    async def kept() -> list[AbstractIncomingMessage]:
        return await get_all(amqp_connection, topology.unroutable_queue)

    (message,) = await wait_until(kept, what="the unroutable message")
    assert message.routing_key == "report.submitted"


async def test_poison_message_is_dead_lettered_and_the_next_one_handled(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    spec = QueueSpec("plumbing.reports", ("report.submitted",))
    consuming = await open_consumer_channel(
        amqp_connection, topology, spec, prefetch=4, delivery_limit=3
    )
    handled: list[AnyEvent] = []

    async def handle(event: AnyEvent) -> None:
        handled.append(event)

    consumer = Consumer(consuming.queue, {"report.submitted": handle})
    await consumer.start()
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.exchange.publish(publish_raw(b"{not json"), routing_key="report.submitted")
    good = report_event(0)
    await publisher.publish(good)

    async def handled_good() -> bool:
        return handled == [good]

    await wait_until(handled_good, what="the good report handled")

    async def dead() -> list[AbstractIncomingMessage]:
        return await get_all(amqp_connection, topology.queue("plumbing.reports.dead"))

    (poison,) = await wait_until(dead, what="the poison message dead-lettered")
    assert poison.body == b"{not json"
    await consumer.stop()


async def test_failing_handler_is_retried_then_dead_lettered_at_the_delivery_limit(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    spec = QueueSpec("plumbing.failing", ("report.submitted",))
    consuming = await open_consumer_channel(
        amqp_connection, topology, spec, prefetch=1, delivery_limit=2
    )
    attempts: list[str] = []

    async def always_fails(event: AnyEvent) -> None:
        attempts.append(event.event_id)
        raise ValueError("cannot store this")

    consumer = Consumer(consuming.queue, {"report.submitted": always_fails})
    await consumer.start()
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(report_event(0))

    async def dead() -> list[AbstractIncomingMessage]:
        return await get_all(amqp_connection, topology.queue("plumbing.failing.dead"))

    await wait_until(dead, timeout=30, what="the failing message dead-lettered")
    assert len(attempts) == 3  # the first delivery and two redeliveries
    await consumer.stop()


async def test_outbox_relay_publishes_pending_events_once_and_clears_them(
    amqp_connection: AbstractRobustConnection, topology: Topology, mongo_url: str, db_name: str
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.submitted")
    publisher = await Publisher.open(amqp_connection, topology)
    async with mongo_database(mongo_url, db_name, timeout_ms=5000) as db:
        await ensure_outbox_index(db.reports)
        now = datetime.now(UTC)
        events = [report_event(i) for i in range(50)]
        await db.reports.insert_many(
            [{"_id": e.report_id, **outbox_fields([e], now)} for e in events]
        )
        relay = OutboxRelay(db.reports, publisher, batch=20)
        task = asyncio.create_task(relay.run())
        received = await probe.wait_for(50)
        assert sorted(e.event_id for e in received) == sorted(e.event_id for e in events)

        async def drained() -> bool:
            return await relay.backlog() == 0

        await wait_until(drained, what="the outbox drained")
        assert await db.reports.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 0
        assert await db.reports.count_documents({"outbox.0": {"$exists": True}}) == 0
        task.cancel()
