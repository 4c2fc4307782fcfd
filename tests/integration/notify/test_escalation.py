"""Escalation on the real broker and database: once per level, across replicas and restarts."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import Topology
from services.common.contracts import CaseEscalated, CaseStatus
from services.common.mongo import MongoDatabase
from services.notify.settings import NotifySettings
from tests.helpers import QueueProbe, get_all, publish_raw, wait_until
from tests.integration.notify.conftest import Cases, start_notify

pytestmark = pytest.mark.integration


async def escalations_probe(connection: AbstractRobustConnection, topology: Topology) -> QueueProbe:
    return await QueueProbe.bind(connection, topology, "case.escalated.#")


async def settled(db: MongoDatabase, count: int) -> None:
    """Wait until `count` cases have no alert pending and nothing left to publish.

    One read answers both questions: counting the open deadlines and then all deadlines in two
    queries let a deadline stored between them pass as settled before any level was sent.
    """

    async def done() -> bool:
        docs = await db.deadlines.find({}, {"next_due_at": 1, "outbox_since": 1}).to_list()
        pending = [d for d in docs if "next_due_at" in d or "outbox_since" in d]
        return len(docs) == count and not pending

    await wait_until(done, timeout=30, what=f"{count} deadlines settled")


def levels(events: list[Any]) -> Counter[tuple[str, int]]:
    return Counter((e.case_id, e.level) for e in events if isinstance(e, CaseEscalated))


async def test_unacknowledged_case_escalates_once_per_level(
    notify: Any,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await escalations_probe(amqp_connection, topology)
    case = await cases.assign(due_in=0.5)
    await settled(notify_db, 1)
    events = await probe.flush()
    assert levels(events) == {(case.case_id, 1): 1, (case.case_id, 2): 1, (case.case_id, 3): 1}
    first, second, third = sorted(events, key=lambda e: e.level)  # type: ignore[union-attr]
    assert isinstance(first, CaseEscalated) and isinstance(third, CaseEscalated)
    assert first.targets == ["police-supervisor"]
    assert second.targets == ["police-supervisor", "provincial"]  # type: ignore[union-attr]
    assert third.targets == ["national"]
    assert case.due_at is not None and first.scheduled_at is not None
    assert abs((first.due_at - case.due_at).total_seconds()) < 0.001  # stored to the millisecond
    assert 0 <= (first.escalated_at - first.scheduled_at).total_seconds() < 2
    assert [m.routing_key for m in probe.messages] == [
        f"case.escalated.police.{n}" for n in (1, 2, 3)
    ]


async def test_two_notifiers_at_once_never_send_a_level_twice(
    notify_settings: NotifySettings,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await escalations_probe(amqp_connection, topology)
    replicas = [await start_notify(notify_settings) for _ in range(2)]
    try:
        assigned = [await cases.assign(due_in=1.0) for _ in range(40)]
        await settled(notify_db, len(assigned))
        events = await probe.flush()
    finally:
        for replica in replicas:
            await replica.close()
    expected = {(c.case_id, level): 1 for c in assigned for level in (1, 2, 3)}
    assert levels(events) == expected


async def test_a_restarted_notifier_goes_on_from_the_next_level(
    notify_settings: NotifySettings,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await escalations_probe(amqp_connection, topology)
    first = await start_notify(notify_settings)
    case = await cases.assign(due_in=0.3)
    await probe.wait_for(1)
    await first.close()
    second = await start_notify(notify_settings)
    try:
        await settled(notify_db, 1)
        events = await probe.flush()
    finally:
        await second.close()
    assert levels(events) == {(case.case_id, n): 1 for n in (1, 2, 3)}


async def test_acknowledging_before_the_deadline_prevents_escalation(
    notify: Any,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await escalations_probe(amqp_connection, topology)
    case = await cases.assign(due_in=2.0)
    await cases.update(case, CaseStatus.ACKNOWLEDGED, due_in=3600)
    control = await cases.assign(due_in=2.5)  # proves the scanner ran past the first deadline
    await probe.wait_for(1)

    async def control_done() -> bool:
        doc = await notify_db.deadlines.find_one({"_id": control.case_id})
        return bool(doc and doc["sent"] == 3 and "outbox_since" not in doc)

    await wait_until(control_done, timeout=30, what="the control case's three levels")
    events = await probe.flush()
    assert case.case_id not in {e.case_id for e in events if isinstance(e, CaseEscalated)}
    stored = await notify_db.deadlines.find_one({"_id": case.case_id})
    assert stored is not None and stored["status"] == "acknowledged" and stored["sent"] == 0


async def test_resolving_stops_further_levels(
    notify: Any,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await escalations_probe(amqp_connection, topology)
    case = await cases.assign(due_in=0.2)
    await probe.wait_for(1)
    await cases.update(case, CaseStatus.RESOLVED, due_in=None, action="resolve")

    async def closed() -> bool:
        doc = await notify_db.deadlines.find_one({"_id": case.case_id})
        return bool(doc and doc["status"] == "resolved" and "next_due_at" not in doc)

    await wait_until(closed, what="the resolved case's deadline closed")
    await settled(notify_db, 1)
    events = await probe.flush()
    sent = levels(events)
    assert sent[(case.case_id, 1)] == 1 and sum(sent.values()) <= 2  # level 2 may have raced


async def test_an_older_event_never_overwrites_a_newer_state(
    notify: Any, cases: Cases, notify_db: MongoDatabase
) -> None:
    case = await cases.assign(due_in=3600, publish=False)
    acknowledged = await cases.update(case, CaseStatus.ACKNOWLEDGED, due_in=7200, publish=False)
    await cases.publisher.publish(acknowledged)
    await cases.publisher.publish(case)  # arrives late
    await cases.publisher.publish(acknowledged)  # and a duplicate

    async def stored() -> dict[str, Any] | None:
        return await notify_db.deadlines.find_one({"_id": case.case_id, "version": 2})

    await wait_until(stored, what="version 2 stored")
    control = await cases.assign(due_in=3600)
    await wait_until(
        lambda: notify_db.deadlines.find_one({"_id": control.case_id}), what="control stored"
    )
    doc = await notify_db.deadlines.find_one({"_id": case.case_id})
    assert doc is not None and doc["version"] == 2 and doc["status"] == "acknowledged"


async def test_reassignment_restarts_the_clock_for_the_new_agency(
    notify: Any,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await escalations_probe(amqp_connection, topology)
    case = await cases.assign(due_in=0.2)
    await probe.wait_for(1)
    await cases.update(case, CaseStatus.ASSIGNED, due_in=None, action="reassign", agency="police")
    await cases.assign(due_in=0.5, agency="culture_office", case_id=case.case_id)
    await wait_until(
        lambda: notify_db.deadlines.find_one({"_id": case.case_id, "version": 3}),
        what="the reassignment applied",
    )
    await settled(notify_db, 1)
    events = [e for e in await probe.flush() if isinstance(e, CaseEscalated)]
    culture = [e.level for e in events if e.agency == "culture_office"]
    assert culture == [1, 2, 3]
    assert events[-1].targets == ["national"]
    assert next(e.targets for e in events if e.agency == "culture_office") == ["culture-supervisor"]


async def test_many_due_at_once_are_all_claimed(
    notify: Any, cases: Cases, notify_db: MongoDatabase
) -> None:
    assigned = await asyncio.gather(*(cases.assign(due_in=0.5) for _ in range(100)))
    await settled(notify_db, len(assigned))

    async def recorded() -> bool:
        return await notify_db.alerts.count_documents({}) >= 300

    await wait_until(recorded, what="300 alerts recorded")
    cursor = await notify_db.alerts.aggregate([{"$group": {"_id": "$level", "n": {"$sum": 1}}}])
    by_level = await cursor.to_list()
    assert {row["_id"]: row["n"] for row in by_level} == {1: 100, 2: 100, 3: 100}


async def test_a_poison_case_event_is_dead_lettered_and_the_next_still_applied(
    notify: Any,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    await cases.publisher.exchange.publish(
        publish_raw(b'{"type": "case.assigned", "case_id": 7}'), routing_key="case.assigned.police"
    )
    good = await cases.assign(due_in=3600)
    await wait_until(lambda: notify_db.deadlines.find_one({"_id": good.case_id}), what="good case")

    async def dead() -> list[Any]:
        return await get_all(amqp_connection, topology.queue("notify.cases.dead"))

    [message] = await wait_until(dead, what="the poison message dead-lettered")
    assert b'"case_id": 7' in message.body
