"""Batched consumers: many messages per handler call, a poison one isolated and dead-lettered
alone while the rest of its batch is stored and acked."""

from __future__ import annotations

from collections.abc import Sequence

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from pymongo.errors import BulkWriteError

from services.common.amqp import (
    Batched,
    Consumer,
    OutgoingMessage,
    Publisher,
    QueueSpec,
    Topology,
    open_consumer_channel,
)
from services.common.contracts import ReportSubmitted
from services.common.groupcommit import per_document_errors
from services.common.mongo import mongo_database
from tests.helpers import get_all, report_event, wait_until

pytestmark = pytest.mark.integration

POISON = "POIS-ONPO-ISON"


async def test_a_batch_is_stored_in_one_call_and_a_poison_event_dead_lettered_alone(
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    mongo_url: str,
    db_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = QueueSpec("plumbing.batched", ("report.submitted",))
    consuming = await open_consumer_channel(
        amqp_connection, topology, spec, prefetch=32, delivery_limit=2
    )
    publisher = await Publisher.open(amqp_connection, topology)
    good = [report_event(n) for n in range(20)]
    events = [*good[:10], report_event(99, tracking_code=POISON), *good[10:]]
    await publisher.publish_many([OutgoingMessage.of(e) for e in events])
    calls: list[int] = []
    ack_frames = frames_written(monkeypatch)

    async with mongo_database(mongo_url, db_name, timeout_ms=5000) as db:

        async def store(events: list[ReportSubmitted]) -> Sequence[BaseException | None]:
            calls.append(len(events))
            if any(e.tracking_code == POISON for e in events):
                raise ValueError("this report cannot be stored")
            try:
                await db.cases.insert_many([{"_id": e.report_id} for e in events], ordered=False)
            except BulkWriteError as exc:
                errors = per_document_errors(exc, len(events))
                return [errors.get(i) for i in range(len(events))]
            return [None] * len(events)

        consumer = Consumer(consuming.queue, {"report.submitted": Batched(store, max_batch=32)})
        await consumer.start()

        async def dead() -> list[AbstractIncomingMessage]:
            return await get_all(amqp_connection, topology.queue("plumbing.batched.dead"))

        (poison,) = await wait_until(dead, timeout=30, what="the poison report dead-lettered")
        assert poison.message_id is not None
        stored = {d["_id"] for d in await db.cases.find({}).to_list()}
        await consumer.stop()
    assert stored == {e.report_id for e in good}
    assert max(calls) > 1, f"events were handled in batches: {calls}"
    # The batches were acked a frame per run of deliveries, and the broker took those acks:
    # the channel stayed open, and closing it returns nothing to the queue.
    assert len(ack_frames) < len(good) and any(ack_frames), ack_frames
    assert not consuming.channel.is_closed
    await consuming.channel.close()
    assert await get_all(amqp_connection, topology.queue("plumbing.batched")) == []


def frames_written(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records each ack frame consumers write, as its `multiple` flag."""
    frames: list[bool] = []
    ack = aio_pika.IncomingMessage.ack

    async def recorded(message: aio_pika.IncomingMessage, multiple: bool = False) -> None:
        frames.append(multiple)
        await ack(message, multiple=multiple)

    monkeypatch.setattr(aio_pika.IncomingMessage, "ack", recorded)
    return frames
