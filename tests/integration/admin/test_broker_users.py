"""Broker users from `incidents-admin broker definitions`, imported into the real broker: each
service declares and uses its own queues with its own user, an agency consumes its own queue
and can reach nothing else, and a supervisor binds alerts only."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aio_pika
import pytest
from aiormq.exceptions import ChannelAccessRefused
from yarl import URL

from services.admin.brokerusers import Accounts, BrokerUser, broker_users, definitions
from services.common.amqp import (
    QueueSpec,
    Topology,
    agency_queue,
    declare_exchanges,
    declare_queue,
)
from services.common.brokerpolicy import BrokerPolicies, ManagementEndpoint, policy_name
from services.common.contracts import ReportSubmitted, parse_event
from services.intake.app import STATUS_QUEUE
from services.intake.settings import IntakeSettings
from services.notify.app import ALERTS_QUEUE, CASES_QUEUE
from services.routing.app import ESCALATIONS_QUEUE, REPORTS_QUEUE
from tests.helpers import CONTACT_KEYS, TEST_KEY_RING, wait_until
from tests.integration.intake.conftest import start_intake, valid_report

pytestmark = pytest.mark.integration

AGENCIES = ("police", "party_committee")
SERVICE_QUEUES: dict[str, list[QueueSpec]] = {
    "intake": [STATUS_QUEUE],
    "routing": [REPORTS_QUEUE, ESCALATIONS_QUEUE, *(agency_queue(a) for a in AGENCIES)],
    "notify": [CASES_QUEUE, ALERTS_QUEUE],
}
SUPERVISOR_QUEUE = "supervisor.alerts"
SEALED_CONTACT = {"name": "Đỗ Văn Khang", "phone": "0988 123 456", "email": "do.van@example.net"}


@dataclass(frozen=True)
class Deployment:
    """The test's topology and its users by role, imported into the broker."""

    topology: Topology
    users: dict[str, BrokerUser]
    amqp_url: str

    def url(self, role: str) -> str:
        """The AMQP URL with `role`'s credentials."""
        user = self.users[role]
        return str(URL(self.amqp_url).with_user(user.name).with_password(user.password))


@pytest.fixture
async def deployment(amqp_url: str, topology: Topology) -> AsyncIterator[Deployment]:
    """Users for every role of the test's topology, imported; deleted afterwards with every
    queue and policy the test made."""
    roles = ["operator", "intake", "routing", "notify", *AGENCIES, "supervisor"]
    passwords = {role: secrets.token_urlsafe(16) for role in roles}
    accounts = Accounts(passwords, AGENCIES, user_prefix=topology.prefix)
    users = broker_users(topology, accounts)
    endpoint = ManagementEndpoint.of(amqp_url)
    async with BrokerPolicies.open(endpoint) as api:
        await api.import_definitions(definitions(users, topology))
    by_role = {u.name.removeprefix(topology.prefix): u for u in users}
    try:
        yield Deployment(topology, by_role, amqp_url)
    finally:
        queues = [topology.queue(s.name) for specs in SERVICE_QUEUES.values() for s in specs]
        queues.append(topology.queue(SUPERVISOR_QUEUE))
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            for name in [*queues, *(f"{q}.dead" for q in queues)]:
                await channel.queue_delete(name)
        async with BrokerPolicies.open(endpoint) as api:
            for name in queues:
                await api.delete(policy_name(name))
            for user in users:
                await api.delete_user(user.name)


async def _declare_as(deployment: Deployment, role: str) -> None:
    """What the service does at start, with its own user: exchanges, its queues (with their
    policies through the management API) and bindings."""
    url = deployment.url(role)
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await declare_exchanges(channel, deployment.topology)
        for spec in SERVICE_QUEUES[role]:
            await declare_queue(
                channel,
                deployment.topology,
                spec,
                delivery_limit=5,
                management=ManagementEndpoint.of(url),
            )


async def test_each_service_declares_its_own_queues_with_its_own_user(
    deployment: Deployment,
) -> None:
    for role in ("intake", "routing", "notify"):
        await _declare_as(deployment, role)


async def test_a_service_cannot_declare_another_services_queue(deployment: Deployment) -> None:
    connection = await aio_pika.connect(deployment.url("intake"))
    async with connection:
        channel = await connection.channel()
        with pytest.raises(ChannelAccessRefused):
            await channel.declare_queue(deployment.topology.queue("routing.reports"), durable=True)


async def test_an_agency_consumes_its_own_queue_and_nothing_else(deployment: Deployment) -> None:
    await _declare_as(deployment, "routing")
    topology = deployment.topology
    publisher = await aio_pika.connect(deployment.amqp_url)
    async with publisher:
        channel = await publisher.channel()
        exchange = await channel.get_exchange(topology.exchange)
        await exchange.publish(aio_pika.Message(b"{}"), routing_key="case.assigned.police")

    police = await aio_pika.connect(deployment.url("police"))
    async with police:
        channel = await police.channel()
        own = await channel.get_queue(topology.queue("agency.police.cases"))
        message = await own.get(timeout=10)
        assert message.body == b"{}"
        await message.ack()

        refused = await police.channel()
        with pytest.raises(ChannelAccessRefused):
            await refused.declare_queue(topology.queue("agency.police.everything"), durable=True)

        other = await police.channel()
        with pytest.raises(ChannelAccessRefused):
            queue = await other.get_queue(topology.queue("agency.party_committee.cases"))
            await queue.get(timeout=5, fail=False)

        reports = await police.channel()
        with pytest.raises(ChannelAccessRefused):
            queue = await reports.get_queue(topology.queue("routing.reports"))
            await queue.get(timeout=5, fail=False)


async def test_a_queue_bound_to_everything_is_refused_to_agencies_and_supervisors(
    deployment: Deployment,
) -> None:
    await _declare_as(deployment, "routing")
    topology = deployment.topology
    supervisor = await aio_pika.connect(deployment.url("supervisor"))
    async with supervisor:
        channel = await supervisor.channel()
        mine = await channel.declare_queue(topology.queue(SUPERVISOR_QUEUE), durable=True)
        await mine.bind(topology.exchange, routing_key="case.escalated.#")  # allowed
        with pytest.raises(ChannelAccessRefused):
            await mine.bind(topology.exchange, routing_key="#")
        again = await supervisor.channel()
        queue = await again.get_queue(topology.queue(SUPERVISOR_QUEUE))
        with pytest.raises(ChannelAccessRefused):
            await queue.bind(topology.exchange, routing_key="report.submitted")

    party = await aio_pika.connect(deployment.url("party_committee"))
    async with party:
        channel = await party.channel()
        with pytest.raises(ChannelAccessRefused):
            await channel.declare_queue(topology.queue("agency.party_committee.all"))


async def test_reports_reach_routing_with_the_contact_sealed_and_notify_cannot_bind_them(
    deployment: Deployment, mongo_url: str, db_name: str
) -> None:
    """What the services' own users carry and see: intake publishes with its user, routing
    reads its queue with its own, and the body holds the contact only sealed."""
    await _declare_as(deployment, "routing")
    topology = deployment.topology
    settings = IntakeSettings(
        amqp_url=deployment.url("intake"),
        mongo_url=mongo_url,
        mongo_db=db_name,
        topology_prefix=topology.prefix,
        outbox_poll_seconds=0.2,
        contact_keys=CONTACT_KEYS,
        csrf_secret="test-secret-0123456789",
    )
    intake = await start_intake(settings)
    try:
        reply = await intake.post("/api/v1/reports", json=valid_report(contact=SEALED_CONTACT))
        assert reply.status == 201, await reply.text()
        routing = await aio_pika.connect(deployment.url("routing"))
        async with routing:
            channel = await routing.channel()
            queue = await channel.get_queue(topology.queue("routing.reports"))
            message = await wait_until(
                lambda: queue.get(fail=False, no_ack=True), what="the report on routing's queue"
            )
    finally:
        await intake.close()
    body = message.body.decode()
    assert not [v for v in ("Đỗ Văn", "988123456", "do.van", "example.net") if v in body]
    event = parse_event(message.body)
    assert isinstance(event, ReportSubmitted) and event.contact_sealed is not None
    contact = TEST_KEY_RING.open_contact(event.contact_sealed, event.report_id)
    assert contact.email == SEALED_CONTACT["email"]

    await _declare_as(deployment, "notify")
    notify = await aio_pika.connect(deployment.url("notify"))
    async with notify:
        channel = await notify.channel()
        own = await channel.get_queue(topology.queue(CASES_QUEUE.name))
        with pytest.raises(ChannelAccessRefused):
            await own.bind(topology.exchange, routing_key="report.submitted")
