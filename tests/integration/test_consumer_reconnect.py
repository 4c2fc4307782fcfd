"""A consumer survives losing its broker connection: it consumes again after the reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import (
    Consumer,
    Publisher,
    QueueSpec,
    Topology,
    connect,
    open_consumer_channel,
)
from services.common.contracts import (
    AnyEvent,
)
from tests.helpers import report_event, wait_until
from tests.proxy import TcpProxy

pytestmark = pytest.mark.integration


@pytest.fixture
async def proxy(amqp_url: str) -> AsyncIterator[TcpProxy]:
    target = urlparse(amqp_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await proxy.start()
    yield proxy
    await proxy.stop()


async def test_consumer_resumes_after_the_connection_is_cut_and_loses_nothing(
    proxy: TcpProxy, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    spec = QueueSpec("plumbing.reconnect", ("report.submitted",))
    through_proxy = await connect(proxy.url())
    handled: dict[str, int] = {}
    slow = asyncio.Event()

    async def handle(event: AnyEvent) -> None:
        if event.event_id not in handled and not slow.is_set():
            slow.set()
            await asyncio.sleep(0.5)  # still in flight when the connection is cut
        handled[event.event_id] = handled.get(event.event_id, 0) + 1

    try:
        consuming = await open_consumer_channel(
            through_proxy, topology, spec, prefetch=8, delivery_limit=5
        )
        consumer = Consumer(consuming.queue, {"report.submitted": handle})
        await consumer.start()
        publisher = await Publisher.open(amqp_connection, topology)
        first = report_event(0)
        await publisher.publish(first)
        await wait_until(lambda: _true(slow.is_set()), what="the first message in flight")
        await proxy.stop()
        during = [report_event(n) for n in range(1, 21)]
        for event in during:
            await publisher.publish(event)
        await proxy.start()

        async def all_handled() -> bool:
            return all(e.event_id in handled for e in [first, *during])

        await wait_until(all_handled, timeout=40, what="every message handled after the reconnect")
        # in flight at the cut: cancelled with its channel or unacked, so redelivered, never lost
        assert handled[first.event_id] >= 1
        await consumer.stop()
    finally:
        await through_proxy.close()


async def _true(value: bool) -> bool:
    return value
