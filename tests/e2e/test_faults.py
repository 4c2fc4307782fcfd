"""Faults during a steady stream of reports: nothing lost, nothing doubled.

Over 500 reports: RabbitMQ is stopped and started (`rabbitmqctl stop_app` / `start_app`),
routing is killed with SIGKILL and restarted, the notifier is killed between escalation levels
and restarted, `report.submitted` messages are delivered again (duplicates) and a poison
message is injected. Nobody acknowledges, so every case goes overdue (seconds, from the test
policies). Afterwards the databases and queues must show: every accepted report has exactly one
case, every case exactly one `case.assigned` event, every case exactly one escalation per level,
the poison message in the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections import defaultdict
from typing import Any

import aiohttp
import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import QueueSpec, declare_exchanges, declare_queue
from services.common.contracts import CaseAssigned, CaseEscalated, parse_event
from tests.e2e.conftest import System
from tests.helpers import get_all, publish_raw, wait_until

pytestmark = pytest.mark.e2e

REPORTS = 500
RATE = 25.0  # reports per second
CATEGORIES = ["scam_fraud", "false_information", "member_misconduct"]
AGENCIES = ["police", "culture_office", "party_committee"]
SUPERVISOR_QUEUE = QueueSpec("supervisor.alerts", ("case.escalated.#",))
# Delivery is at least once: an outbox relay publishes a batch, awaits its confirms, then clears
# it, so a batch in flight when the broker goes away or the relay's process is killed is
# published again; a change-stream relay saves its position within 0.25 s (and on its way out
# when stopped, not killed), so one killed publishes again what it published since (at this
# rate, a few events besides the batch in flight).
# Each relay here lives through two such faults (the broker restart and its own kill), so
# each queue may see up to two batches twice, and no more.
RELAY_BATCH = 50
# What intake's relay logs while the broker is away: the clearing relay, the change-stream one.
HELD_WHILE_THE_BROKER_WAS_AWAY = (
    "outbox relay could not publish; will retry",
    "broker unavailable; events kept until it is back",
)
AT_MOST_DOUBLED = 2 * RELAY_BATCH


@pytest.fixture
def system_extra_env() -> dict[str, str]:
    """Relay batches of a known size, so the duplicates a fault may cause are bounded."""
    return {f"{service}_OUTBOX_BATCH": str(RELAY_BATCH) for service in ("ROUTING", "NOTIFY")}


def rabbitmqctl(*args: str) -> None:
    """Run rabbitmqctl (the broker of this machine)."""
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def report(n: int) -> dict[str, Any]:
    return {
        "category": CATEGORIES[n % 3],
        "content_urls": [f"https://www.facebook.com/fault.page.{n}"],  # one content each
        "platform": "facebook",
        "description": f"Fault-test report {n} about a fake page.",
        "reporter_kind": "citizen",
        "anonymous": True,
    }


async def submit_all(system: System, accepted: dict[int, str], progress: list[int]) -> None:
    """POST every report at a steady rate; retry a failed attempt with the same Idempotency-Key."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        for n in range(REPORTS):
            await asyncio.sleep(max(0.0, started + n / RATE - time.monotonic()))
            for _attempt in range(50):
                try:
                    async with session.post(
                        f"{system.url('intake')}/api/v1/reports",
                        json=report(n),
                        headers={"Idempotency-Key": f"fault-{n}"},
                    ) as response:
                        if response.status == 201:
                            accepted[n] = (await response.json())["tracking_code"]
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            progress[0] = n + 1


async def wait_progress(progress: list[int], count: int) -> None:
    async def reached() -> bool:
        return progress[0] >= count

    await wait_until(reached, timeout=120, what=f"{count} reports submitted")


@pytest.mark.skipif(
    shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl to restart the local broker"
)
async def test_nothing_lost_nothing_doubled_through_broker_restart_crash_duplicates_and_poison(
    system: System, amqp_connection: AbstractRobustConnection
) -> None:
    topology = system.topology
    channel = await amqp_connection.channel()
    exchange = await declare_exchanges(channel, topology)
    copies = await channel.declare_queue(exclusive=True)
    await copies.bind(exchange, "report.submitted")  # keeps raw copies to deliver again later
    # A supervisor's own durable queue for every escalation.
    await declare_queue(channel, topology, SUPERVISOR_QUEUE, delivery_limit=5)

    accepted: dict[int, str] = {}
    progress = [0]
    submitting = asyncio.create_task(submit_all(system, accepted, progress))

    await wait_progress(progress, 100)
    rabbitmqctl("stop_app")
    await asyncio.sleep(3)
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")

    await wait_progress(progress, 200)
    async with system.database("routing") as db:

        async def routing_caught_up() -> bool:
            return await db.cases.count_documents({}) >= 190

        # Routing was never restarted: its consumer resumed after the broker came back.
        await wait_until(
            routing_caught_up, timeout=60, what="routing consuming again after the broker restart"
        )

    await wait_progress(progress, 250)
    system.services["routing"].kill()
    await asyncio.sleep(1)
    system.services["routing"].start()

    await wait_progress(progress, 300)  # early cases are between levels 1 and 3 now
    system.services["notify"].kill()
    await asyncio.sleep(2)
    system.services["notify"].start()

    await wait_progress(progress, 350)
    redelivered = 0
    while redelivered < 30 and (message := await copies.get(fail=False, no_ack=True)) is not None:
        await exchange.publish(
            publish_raw(message.body, message_id=message.message_id or ""), "report.submitted"
        )
        redelivered += 1
    await exchange.publish(
        publish_raw(b'{"type": "report.submitted", "poison": true}'), "report.submitted"
    )

    await submitting
    assert len(accepted) == REPORTS, "every report was eventually accepted"
    assert redelivered == 30

    async with system.database("routing") as db:

        async def all_routed() -> bool:
            return await db.cases.count_documents({}) >= REPORTS

        await wait_until(all_routed, timeout=120, what="every report routed")
        cases = await db.cases.find({}, {"tracking_code": 1, "report_id": 1, "agency": 1}).to_list()
    assert len(cases) == REPORTS
    assert sorted(c["tracking_code"] for c in cases) == sorted(accepted.values())
    assert len({c["report_id"] for c in cases}) == REPORTS

    assigned: dict[str, set[str]] = defaultdict(set)
    deliveries = 0

    async def announced() -> bool:
        nonlocal deliveries
        for agency in AGENCIES:
            for message in await get_all(amqp_connection, topology.queue(f"agency.{agency}.cases")):
                event = parse_event(message.body)
                assert isinstance(event, CaseAssigned) and event.agency == agency
                assigned[event.case_id].add(event.event_id)
                deliveries += 1
        return len(assigned) >= REPORTS

    await wait_until(announced, timeout=60, what="every case announced on its agency queue")
    assert set(assigned) == {c["_id"] for c in cases}, "every case announced on its agency queue"
    assert all(len(ids) == 1 for ids in assigned.values()), "one case.assigned event per case"
    # At least once (see AT_MOST_DOUBLED): repeated copies carry the same message id, which
    # consumers deduplicate.
    assert deliveries <= REPORTS + AT_MOST_DOUBLED

    async with system.database("intake") as db:

        async def statuses_followed() -> bool:
            return await db.reports.count_documents({"case.version": 1}) == REPORTS

        # Intake was never restarted either: its case-status consumer survived the broker restart.
        await wait_until(
            statuses_followed, timeout=60, what="intake's status model following every case"
        )

    # The faults really happened: intake held reports while the broker was away (in its
    # documents, or in the spill of a relay reading the change stream), routing restarted.
    held = system.services["intake"].log_messages()
    assert any(message in held for message in HELD_WHILE_THE_BROKER_WAS_AWAY)
    assert system.services["routing"].log_messages().count("service started") == 2
    assert system.services["notify"].log_messages().count("service started") == 2

    await check_one_escalation_per_level(system, amqp_connection, cases)

    dead = await get_all(amqp_connection, topology.queue("routing.reports.dead"))
    assert [m.body for m in dead] == [b'{"type": "report.submitted", "poison": true}']
    await channel.close()


async def check_one_escalation_per_level(
    system: System, amqp_connection: AbstractRobustConnection, cases: list[dict[str, Any]]
) -> None:
    """Every case escalated at levels 1, 2 and 3, each by exactly one event."""
    async with system.database("notify") as db:

        async def all_escalated() -> bool:
            done = await db.deadlines.count_documents({"sent": 3})
            pending = await db.deadlines.count_documents({"outbox_since": {"$exists": True}})
            return done == REPORTS and pending == 0

        await wait_until(all_escalated, timeout=120, what="every case escalated three times")
    events: dict[tuple[str, int], set[str]] = defaultdict(set)
    messages: list[Any] = []

    async def drained() -> bool:
        messages.extend(
            await get_all(amqp_connection, system.topology.queue(SUPERVISOR_QUEUE.name))
        )
        return len({parse_event(m.body).event_id for m in messages}) >= 3 * REPORTS

    await wait_until(drained, timeout=60, what="every escalation on the supervisor queue")
    for message in messages:
        event = parse_event(message.body)
        assert isinstance(event, CaseEscalated)
        events[(event.case_id, event.level)].add(event.event_id)
    expected = {(c["_id"], level) for c in cases for level in (1, 2, 3)}
    assert set(events) == expected, "every case escalated at every level"
    assert all(len(ids) == 1 for ids in events.values()), "one escalation event per level"
    # At least once (see AT_MOST_DOUBLED): the notifier's relay lived through both faults.
    assert len(messages) <= 3 * REPORTS + AT_MOST_DOUBLED
