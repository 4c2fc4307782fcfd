"""Delivery limits and dead-lettering as broker policies, against the real broker's management
API: changed on a running queue, old-style queues still used, a management outage reported."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient, TestServer

from services.common.amqp import (
    Consumer,
    Publisher,
    QueueSpec,
    Topology,
    declare_exchanges,
    declare_queue,
    delete_topology,
    open_consumer_channel,
)
from services.common.brokerpolicy import (
    POLICY_PRIORITY,
    BrokerPolicies,
    BrokerPolicyError,
    ManagementEndpoint,
)
from services.common.contracts import AnyEvent
from services.common.runtime import Backoff
from services.common.service import Runtime, Service, create_service_app
from services.common.settings import CommonSettings
from tests.helpers import report_event, wait_until
from tests.proxy import TcpProxy

pytestmark = pytest.mark.integration

REPORTS = QueueSpec("admin.reports", ("report.submitted",))


async def _dead_count(connection: AbstractRobustConnection, name: str) -> int:
    channel = await connection.channel()
    queue = await channel.declare_queue(name, passive=True)
    await channel.close()
    return queue.declaration_result.message_count or 0


async def _fail_until_dead_lettered(
    connection: AbstractRobustConnection, consumer: Consumer, dead_queue: str
) -> None:
    await consumer.start()

    async def dead_lettered() -> bool:
        return await _dead_count(connection, dead_queue) == 1

    await wait_until(dead_lettered, timeout=30, what="the failing message dead-lettered")
    await consumer.stop()


async def test_a_lower_delivery_limit_reaches_a_running_queue_and_the_message_waiting_in_it(
    amqp_url: str, amqp_connection: AbstractRobustConnection, admin_topology: Topology
) -> None:
    channel = await amqp_connection.channel()
    await declare_exchanges(channel, admin_topology)
    await declare_queue(channel, admin_topology, REPORTS, delivery_limit=3)
    publisher = await Publisher.open(amqp_connection, admin_topology)
    await publisher.publish(report_event(0))  # waits in the queue while the limit changes

    # What a service restarted with DELIVERY_LIMIT=1 does: no queue deleted, none refused.
    consuming = await open_consumer_channel(
        amqp_connection, admin_topology, REPORTS, prefetch=1, delivery_limit=1
    )
    assert consuming.queue.declaration_result.message_count == 1
    attempts: list[str] = []

    async def always_fails(event: AnyEvent) -> None:
        attempts.append(event.event_id)
        raise ValueError("cannot store this")

    consumer = Consumer(consuming.queue, {"report.submitted": always_fails})
    await _fail_until_dead_lettered(
        amqp_connection, consumer, admin_topology.queue("admin.reports.dead")
    )
    assert len(attempts) == 2  # the new limit: one redelivery (the old one allowed three)
    async with BrokerPolicies.open(ManagementEndpoint.of(amqp_url)) as management:
        info = await management.queue(admin_topology.queue("admin.reports"))
    assert info is not None
    assert info["arguments"] == {"x-queue-type": "quorum"}  # the limit is the policy's alone


async def test_a_queue_declared_with_the_old_arguments_is_used_as_it_is_with_a_warning(
    amqp_connection: AbstractRobustConnection,
    admin_topology: Topology,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = admin_topology.queue("admin.legacy")
    channel = await amqp_connection.channel()
    await declare_exchanges(channel, admin_topology)
    old_arguments: dict[str, Any] = {
        "x-queue-type": "quorum",
        "x-delivery-limit": 1,
        "x-dead-letter-exchange": admin_topology.dead_letter_exchange,
        "x-dead-letter-routing-key": name,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    await channel.declare_queue(name, durable=True, arguments=old_arguments)
    spec = QueueSpec("admin.legacy", ("report.submitted",))
    with caplog.at_level(logging.WARNING, logger="services.common.amqp"):
        consuming = await open_consumer_channel(
            amqp_connection, admin_topology, spec, prefetch=1, delivery_limit=5
        )
    (warning,) = [r for r in caplog.records if getattr(r, "queue", None) == name]
    assert "x-delivery-limit" in warning.getMessage()
    assert f"rabbitmqctl delete_queue {name}" in warning.getMessage()
    attempts: list[str] = []

    async def always_fails(event: AnyEvent) -> None:
        attempts.append(event.event_id)
        raise ValueError("cannot store this")

    publisher = await Publisher.open(amqp_connection, admin_topology)
    await publisher.publish(report_event(0))
    consumer = Consumer(consuming.queue, {"report.submitted": always_fails})
    await _fail_until_dead_lettered(amqp_connection, consumer, f"{name}.dead")
    assert len(attempts) == 2  # the argument's limit of 1 still rules, not the policy's 5


async def test_policies_are_named_after_their_queue_and_deleted_with_the_topology(
    amqp_url: str, amqp_connection: AbstractRobustConnection, admin_topology: Topology
) -> None:
    channel = await amqp_connection.channel()
    await declare_exchanges(channel, admin_topology)
    await declare_queue(channel, admin_topology, REPORTS, delivery_limit=4)
    endpoint = ManagementEndpoint.of(amqp_url)

    async def ours() -> list[dict[str, Any]]:
        async with BrokerPolicies.open(endpoint) as management:
            policies = await management.policies()
        return [p for p in policies if p["name"].startswith(admin_topology.prefix)]

    (policy,) = await ours()
    assert policy["name"] == admin_topology.queue("admin.reports.limits")
    assert policy["apply-to"] == "queues"
    assert policy["priority"] == POLICY_PRIORITY
    assert policy["definition"]["delivery-limit"] == 4
    assert policy["definition"]["dead-letter-routing-key"] == admin_topology.queue("admin.reports")
    await delete_topology(channel, admin_topology, ["admin.reports"])
    assert await ours() == []


async def test_a_service_waits_for_the_management_api_and_names_it_in_readyz(
    amqp_url: str, mongo_url: str, db_name: str, admin_topology: Topology
) -> None:
    management = TcpProxy("127.0.0.1", 15672)  # not listening yet: the API is unreachable
    failures: list[logging.LogRecord] = []

    class Failures(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info and isinstance(record.exc_info[1], BrokerPolicyError):
                failures.append(record)

    async def handle(event: AnyEvent) -> None:
        pass

    async def wire(runtime: Runtime) -> None:
        runtime.supervisor.backoff = Backoff(first=0.2, longest=0.5)
        runtime.consume(QueueSpec("admin.cases", ("case.#",)), {"case.assigned": handle})

    settings = CommonSettings(
        amqp_url=amqp_url,
        mongo_url=mongo_url,
        mongo_db=db_name,
        topology_prefix=admin_topology.prefix,
        rabbitmq_management_url=f"http://127.0.0.1:{management.port}",
    )
    handler = Failures()
    logging.getLogger("services.common.runtime").addHandler(handler)
    client = TestClient(TestServer(create_service_app(Service("test", settings, wire))))
    await client.start_server()
    try:

        async def failed() -> bool:
            return bool(failures)

        await wait_until(failed, what="a failed attempt to set the queue policies")
        response = await client.get("/readyz")
        assert response.status == 503
        assert (await response.json())["checks"]["broker-policies"] is False
        await management.start()

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await wait_until(ready, what="/readyz ready once the management API answers")
        assert (await (await client.get("/readyz")).json())["checks"]["broker-policies"] is True
    finally:
        logging.getLogger("services.common.runtime").removeHandler(handler)
        await client.close()
        await management.stop()
