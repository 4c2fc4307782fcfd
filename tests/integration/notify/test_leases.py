"""The deliverer's batch leases: replicas racing for due alerts never share one, a lease that ran
out passes to another worker without the late one overwriting it, and a round sends its batch
concurrently within the per-host bound, recording every outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from services.common.contracts import (
    CaseEscalated,
    CaseStatus,
    Category,
    DeadlineClock,
    Priority,
    new_event_id,
)
from services.common.mongo import MongoDatabase
from services.notify.alerts import DELIVERED, PENDING, AlertLog, alert_document
from services.notify.channels import HttpSender, WebhookSender
from services.notify.delivery import Deliverer, RetryPolicy, SendLimits
from services.notify.leases import LEASE_TOKEN, AlertLeases, saved
from services.notify.retry import LEASED_UNTIL, NEXT_ATTEMPT
from services.notify.signing import signing_keys
from tests.helpers import CountedReads, post_endpoint
from tests.integration.notify.conftest import WEBHOOK_SECRET

pytestmark = pytest.mark.integration

LEASE = timedelta(minutes=2)


def escalation(n: int, now: datetime) -> CaseEscalated:
    return CaseEscalated(
        event_id=new_event_id(),
        occurred_at=now,
        case_id=f"case-lease-{n}",
        report_id=f"report-lease-{n}",
        tracking_code=f"TC-LEASE-{n}",
        agency="police",
        category=Category.SCAM_FRAUD,
        priority=Priority.HIGH,
        status=CaseStatus.ASSIGNED,
        targets=["police-supervisor"],
        level=1,
        due_at=now - timedelta(seconds=1),
        escalated_at=now,
        overdue_by_seconds=1,
        clock=DeadlineClock.INTERNAL,
    )


def webhook_delivery(url: str, now: datetime) -> dict[str, Any]:
    return {
        "target": "police-supervisor",
        "channel": "webhook",
        "address": url,
        "status": PENDING,
        "attempts": 0,
        "last_error": None,
        "delivered_at": None,
        NEXT_ATTEMPT: now,
    }


async def record_alerts(db: MongoDatabase, count: int, url: str, now: datetime) -> None:
    alerts = AlertLog(db)
    for n in range(count):
        await alerts.record(escalation(n, now), [webhook_delivery(url, now)], now)


async def test_workers_racing_for_due_alerts_never_lease_the_same_one(
    notify_db: MongoDatabase,
) -> None:
    now = datetime.now(UTC)
    await record_alerts(notify_db, 120, "http://127.0.0.1:9/hook", now)
    leases = AlertLeases(notify_db.alerts)
    taken: list[set[str]] = [set(), set()]

    async def worker(mine: set[str]) -> None:
        while (lease := await leases.take(now, LEASE, 25)).alerts:
            mine.update(alert["_id"] for alert in lease.alerts)

    await asyncio.gather(worker(taken[0]), worker(taken[1]))
    assert not taken[0] & taken[1]
    assert len(taken[0] | taken[1]) == 120
    assert await notify_db.alerts.count_documents({NEXT_ATTEMPT: {"$lte": now}}) == 0


async def test_an_expired_lease_passes_on_and_the_late_worker_overwrites_nothing(
    notify_db: MongoDatabase,
) -> None:
    now = datetime.now(UTC)
    await record_alerts(notify_db, 3, "http://127.0.0.1:9/hook", now)
    leases = AlertLeases(notify_db.alerts)
    crashed = await leases.take(now, LEASE, 10)
    assert len(crashed.alerts) == 3
    assert not (await leases.take(now + LEASE / 2, LEASE, 10)).alerts

    later = now + LEASE + timedelta(seconds=1)
    second = await leases.take(later, LEASE, 10)
    assert {a["_id"] for a in second.alerts} == {a["_id"] for a in crashed.alerts}
    late = [
        dict(d, status=DELIVERED, **{NEXT_ATTEMPT: None}) for d in crashed.alerts[0]["deliveries"]
    ]
    await leases.record([(crashed.alerts[0], saved(crashed, crashed.alerts[0], late))], later)
    stored = await notify_db.alerts.find_one({"_id": crashed.alerts[0]["_id"]})
    assert stored is not None and stored[LEASE_TOKEN] == second.token
    assert stored["deliveries"][0]["status"] == PENDING


@dataclass
class SlowReceiver:
    """Answers each webhook after a short wait, counting how many it holds at once."""

    in_flight: int = 0
    most: int = 0
    received: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.05)  # the receiver's own latency, not a synchronisation
        finally:
            self.in_flight -= 1
        self.received += 1
        return web.Response(status=204)


@pytest.fixture
async def slow_receiver() -> AsyncIterator[tuple[SlowReceiver, str]]:
    receiver = SlowReceiver()
    async with post_endpoint("/hook", receiver.handle) as url:
        yield receiver, url


async def test_one_round_sends_the_batch_concurrently_within_the_per_host_bound(
    notify_db: MongoDatabase, slow_receiver: tuple[SlowReceiver, str]
) -> None:
    receiver, url = slow_receiver
    now = datetime.now(UTC)
    await record_alerts(notify_db, 40, url, now)
    async with aiohttp.ClientSession() as session:
        deliverer = deliverer_for(notify_db, session, lambda: datetime.now(UTC), per_host=4)
        assert await deliverer.deliver_due() == 40
    assert receiver.received == 40
    assert 1 < receiver.most <= 4
    async for alert in notify_db.alerts.find():
        assert alert["deliveries"][0]["status"] == DELIVERED
        assert not {NEXT_ATTEMPT, LEASED_UNTIL, LEASE_TOKEN} & alert.keys()


async def _never_closed(case_id: str) -> bool:
    return False


def deliverer_for(
    db: MongoDatabase, session: aiohttp.ClientSession, clock: Callable[[], datetime], per_host: int
) -> Deliverer:
    keys = signing_keys([WEBHOOK_SECRET], None)
    assert keys is not None
    http = HttpSender(session, 5.0)
    return Deliverer(
        AlertLeases(db.alerts),
        WebhookSender(http, keys),
        http,
        None,
        RetryPolicy(0.2, 1.0, timedelta(hours=1)),
        "http://console/{case_id}",
        clock,
        case_closed=_never_closed,
        batch=200,
        limits=SendLimits(concurrency=64, per_host=per_host),
    )


async def test_a_round_past_half_its_lease_starts_no_send_and_leaves_the_rest_due(
    notify_db: MongoDatabase,
) -> None:
    now = datetime.now(UTC)
    clock = [now]
    requests: list[str] = []

    async def slow_first(request: web.Request) -> web.Response:
        # The first send takes most of the lease (as against a host that hangs).
        requests.append(request.headers["webhook-id"])
        clock[0] = now + LEASE * 0.75
        return web.Response(status=204)

    async with post_endpoint("/hook", slow_first) as url:
        await record_alerts(notify_db, 2, url, now)
        async with aiohttp.ClientSession() as session:
            deliverer = deliverer_for(notify_db, session, lambda: clock[0], per_host=1)
            assert await deliverer.deliver_due() == 2
    assert len(requests) == 1
    sent = await notify_db.alerts.find_one({"_id": requests[0]})
    left = await notify_db.alerts.find_one({"_id": {"$ne": requests[0]}})
    assert sent is not None and sent["deliveries"][0]["status"] == DELIVERED
    assert left is not None and left["deliveries"][0]["status"] == PENDING
    assert left["deliveries"][0]["attempts"] == 0
    assert left[NEXT_ATTEMPT] <= clock[0] and LEASE_TOKEN not in left


async def test_alerts_are_recorded_in_one_command_once_each(notify_db: MongoDatabase) -> None:
    now = datetime.now(UTC)
    alerts = AlertLog(notify_db)
    first, second = escalation(1, now), escalation(2, now)
    hook = [webhook_delivery("http://127.0.0.1:9/hook", now)]
    assert await alerts.record_many([alert_document(first, hook, now)]) == [True]
    # A redelivered alert beside a new one: the new one is stored, the repeat is not.
    again = [alert_document(first, hook, now), alert_document(second, hook, now)]
    assert await alerts.record_many(again) == [False, True]
    assert await notify_db.alerts.count_documents({}) == 2
    stored = await notify_db.alerts.find_one({"_id": second.event_id})
    assert stored is not None and stored[NEXT_ATTEMPT] is not None  # due for delivery


async def test_many_alerts_due_at_once_are_leased_a_batch_per_look_each_once(
    notify_db: MongoDatabase,
) -> None:
    """300 alerts fell due one a second over the last five minutes: every one is leased once,
    most overdue first, and after the first look no look reads more than a few batches."""
    now = datetime.now(UTC)
    alerts = AlertLog(notify_db)
    for n in range(300):
        due = now - timedelta(seconds=300 - n)
        await alerts.record(escalation(n, due), [webhook_delivery("http://127.0.0.1:9/", due)], due)
    reads = CountedReads(notify_db.alerts)
    leases = AlertLeases(reads)  # type: ignore[arg-type]
    leased: list[set[str]] = []
    while (lease := await leases.take(now, LEASE, 20)).alerts:
        leased.append({alert["case_id"] for alert in lease.alerts})
    cases = [f"case-lease-{n}" for n in range(300)]
    assert sum(len(batch) for batch in leased) == 300
    assert set().union(*leased) == set(cases), "each once"
    assert leased[0] == set(cases[:20]), "most overdue first"
    assert reads.matched[0] == 300, "the first look, not yet behind, read every due alert"
    assert max(reads.matched[1:]) <= 60, reads.matched
