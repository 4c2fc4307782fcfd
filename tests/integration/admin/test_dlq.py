"""`incidents-admin dlq` against the real broker: a poison message a real consumer
dead-lettered is listed, shown, and replayed once its cause is fixed."""

from __future__ import annotations

import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import Consumer, Publisher, QueueSpec, Topology, open_consumer_channel
from services.common.contracts import AnyEvent
from tests.helpers import QueueProbe, report_event, wait_until
from tests.integration.admin.support import admin

pytestmark = pytest.mark.integration

CASES = QueueSpec("admin.cases", ("report.submitted",))


class Handler:
    """Fails until `fixed` (as a handler missing reference data would), then stores."""

    def __init__(self) -> None:
        self.fixed = False
        self.attempts = 0
        self.handled: list[AnyEvent] = []

    async def __call__(self, event: AnyEvent) -> None:
        self.attempts += 1
        if not self.fixed:
            raise LookupError("no agency for this province yet")
        self.handled.append(event)


async def _count(connection: AbstractRobustConnection, name: str) -> int:
    channel = await connection.channel()
    queue = await channel.declare_queue(name, passive=True)
    await channel.close()
    return queue.declaration_result.message_count or 0


async def _dead_lettered(
    connection: AbstractRobustConnection, topology: Topology, handler: Handler, count: int
) -> Consumer:
    """A consumer of `admin.cases` (limit 1), once `count` poison reports reached its .dead."""
    consuming = await open_consumer_channel(
        connection, topology, CASES, prefetch=1, delivery_limit=1
    )
    consumer = Consumer(consuming.queue, {"report.submitted": handler})
    await consumer.start()
    publisher = await Publisher.open(connection, topology)
    for n in range(count):
        await publisher.publish(report_event(n))

    async def all_dead() -> bool:
        return await _count(connection, topology.queue("admin.cases.dead")) == count

    await wait_until(all_dead, timeout=30, what="the poison reports dead-lettered")
    return consumer


async def test_a_poison_message_is_listed_shown_and_replayed_once_its_cause_is_fixed(
    amqp_url: str, amqp_connection: AbstractRobustConnection, admin_topology: Topology
) -> None:
    handler = Handler()
    consumer = await _dead_lettered(amqp_connection, admin_topology, handler, 1)
    broker = ["--amqp-url", amqp_url, "--prefix", admin_topology.prefix, "--json"]
    dead = admin_topology.queue("admin.cases.dead")

    listed = await admin("dlq", "list", *broker)
    assert listed.code == 0, listed.err
    assert {"queue": dead, "messages": 1, "consumers": 0} in listed.json()

    shown = await admin("dlq", "show", "admin.cases.dead", *broker)
    assert shown.code == 0, shown.err
    (message,) = shown.json()["messages"]
    assert message["type"] == "report.submitted"
    assert message["death"]["reason"] == "delivery_limit"
    assert message["death"]["queue"] == admin_topology.queue("admin.cases")
    assert message["death"]["exchange"] == admin_topology.exchange
    assert message["death"]["routing_keys"] == ["report.submitted"]
    assert message["death"]["count"] == 1 and message["death"]["time"]
    assert '"type":"report.submitted"' in message["body"]
    assert await _count(amqp_connection, dead) == 1, "showing leaves the message in place"

    tried = await admin("dlq", "replay", "admin.cases", "--all", "--dry-run", *broker)
    assert tried.code == 0, tried.err
    assert tried.json()["messages"][0]["outcome"] == "would replay"
    assert await _count(amqp_connection, dead) == 1 and handler.handled == []

    handler.fixed = True
    replayed = await admin("dlq", "replay", "admin.cases", "--all", *broker)
    assert replayed.code == 0, replayed.err
    (row,) = replayed.json()["messages"]
    assert row == {
        "message_id": message["message_id"],
        "type": "report.submitted",
        "target": f"queue {admin_topology.queue('admin.cases')}",
        "outcome": "replayed",
    }

    async def handled() -> bool:
        return len(handler.handled) == 1

    await wait_until(handled, what="the replayed report handled")
    assert handler.handled[0].event_id == message["message_id"]
    assert await _count(amqp_connection, dead) == 0
    await consumer.stop()


async def test_replay_by_message_id_to_the_original_exchange_keeps_the_message_whole(
    amqp_url: str, amqp_connection: AbstractRobustConnection, admin_topology: Topology
) -> None:
    handler = Handler()
    consumer = await _dead_lettered(amqp_connection, admin_topology, handler, 2)
    await consumer.stop()
    broker = ["--amqp-url", amqp_url, "--prefix", admin_topology.prefix, "--json"]
    shown = (await admin("dlq", "show", "admin.cases", *broker)).json()["messages"]
    chosen = shown[1]["message_id"]
    probe = await QueueProbe.bind(amqp_connection, admin_topology, "report.submitted")

    run = await admin(
        "dlq", "replay", "admin.cases", "--message-id", chosen, "--to-exchange", *broker
    )
    assert run.code == 0, run.err
    assert [row["message_id"] for row in run.json()["messages"]] == [chosen]
    (event,) = await probe.wait_for(1)
    (copy,) = probe.messages
    assert event.event_id == chosen and copy.message_id == chosen
    assert copy.type == "report.submitted" and copy.delivery_mode == 2
    assert copy.routing_key == "report.submitted"
    headers = copy.headers or {}
    assert headers["type"] == "report.submitted"
    assert headers["x-replayed-from"] == admin_topology.queue("admin.cases.dead")
    assert not any(key.startswith("x-death") or "first-death" in key for key in headers)
    remaining = (await admin("dlq", "show", "admin.cases", *broker)).json()["messages"]
    assert [m["message_id"] for m in remaining] == [shown[0]["message_id"]]


async def test_bad_input_and_unreachable_servers_fail_with_a_message(
    amqp_url: str, admin_topology: Topology
) -> None:
    prefix = ["--prefix", admin_topology.prefix]
    missing = await admin("dlq", "show", "no.such.queue", "--amqp-url", amqp_url, *prefix)
    assert missing.code == 1
    assert f"no queue named '{admin_topology.prefix}no.such.queue.dead'" in missing.err

    no_exchange = await admin("dlq", "list", "--amqp-url", amqp_url, *prefix)
    assert no_exchange.code == 1 and "is --prefix right" in no_exchange.err

    down = await admin("dlq", "show", "x", "--amqp-url", "amqp://guest:secret@127.0.0.1:1/")
    assert down.code == 1
    assert "cannot connect to RabbitMQ at amqp://guest:***@127.0.0.1:1/" in down.err
    assert "secret" not in down.err

    no_api = await admin("dlq", "list", "--management-url", "http://127.0.0.1:1", *prefix)
    assert no_api.code == 1 and "management API not reachable" in no_api.err

    unchosen = await admin("dlq", "replay", "admin.cases")
    assert unchosen.code == 2 and "--message-id" in unchosen.err
