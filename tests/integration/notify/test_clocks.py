"""Notify following both clocks on the real broker and database, with an injected clock the
test moves: pre-breach warnings at 50 % and 80 % of the working time allowed, an acknowledged
case escalating past its resolution deadline, a platform past the legal deadline of a takedown
request alerted on the broker and by signed webhook."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from aiohttp.test_utils import TestClient
from standardwebhooks import Webhook

from services.common.amqp import Publisher, Topology
from services.common.contracts import (
    CaseAssigned,
    CaseEscalated,
    CaseStatus,
    CaseUpdated,
    CaseWarning,
    Category,
    DeadlineClock,
    PlatformDeadlineMissed,
    Priority,
    TakedownClock,
    new_event_id,
)
from services.common.mongo import MongoDatabase
from services.common.workcalendar import load_calendars
from services.notify.app import create_app
from services.notify.escalation import parse_escalation_policy
from services.notify.settings import NotifySettings
from tests.helpers import QueueProbe, post_endpoint, start_client, wait_until
from tests.integration.notify.conftest import SHORT_POLICY, SUPERVISOR_TOKEN, WEBHOOK_SECRET

pytestmark = pytest.mark.integration

ICT = timezone(timedelta(hours=7))
# Monday 30 November 2026, 16:00 in Vietnam: one working hour left in the day.
MONDAY_1600 = datetime(2026, 11, 30, 16, 0, tzinfo=ICT).astimezone(UTC)
DESK = '\n[[targets]]\nid = "police-desk"\nrole = "agency_desk"\nagency = "police"\n'


class Clock:
    """Runs like a real clock from `start`; the test moves it forward."""

    def __init__(self, start: datetime) -> None:
        self.start, self.began = start, time.monotonic()
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        elapsed = timedelta(seconds=time.monotonic() - self.began)
        moment = self.start + elapsed + self.offset
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def move_to(self, moment: datetime) -> None:
        self.offset += moment - self()


def policy_text(police_channels: str = "") -> str:
    text = SHORT_POLICY.format(police_channels=police_channels)
    text = text.replace('version = "test-short"\n', 'version = "t"\nwarnings = [0.5, 0.8]\n')
    return text + DESK


async def start(settings: NotifySettings, clock: Clock, channels: str = "") -> TestClient[Any, Any]:
    policy = parse_escalation_policy(policy_text(channels))
    app = create_app(settings, clock=clock, policy=policy, calendars=load_calendars())
    return await start_client(app, what="notify")


def case_fields(clock: Clock, case_id: str, version: int, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "occurred_at": clock(),
        "case_id": case_id,
        "report_id": f"report-of-{case_id}",
        "tracking_code": f"TC-{case_id}",
        "agency": "police",
        "category": Category.HIJACKED_ACCOUNT,
        "priority": Priority.HIGH,
        "status": CaseStatus.ASSIGNED,
        "version": version,
        "due_at": None,
        **fields,
    }


def assigned(clock: Clock, case_id: str, **fields: Any) -> CaseAssigned:
    return CaseAssigned(
        **case_fields(clock, case_id, 1, **fields), policy_version="p", rule_id="hijacked-account"
    )


async def stored_version(db: MongoDatabase, case_id: str, version: int) -> None:
    """Wait until notify stored the case's event of `version`, before the test moves time."""

    async def stored() -> bool:
        doc = await db.deadlines.find_one({"_id": case_id}, {"version": 1})
        return doc is not None and doc["version"] >= version

    await wait_until(stored, what=f"version {version} of {case_id} stored")


@pytest.fixture
async def publisher(amqp_connection: AbstractRobustConnection, topology: Topology) -> Publisher:
    return await Publisher.open(amqp_connection, topology)


async def test_warnings_fall_at_half_and_four_fifths_of_the_working_time(
    notify_settings: NotifySettings,
    publisher: Publisher,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    clock = Clock(MONDAY_1600)
    probe = await QueueProbe.bind(amqp_connection, topology, "case.warning.#", "case.escalated.#")
    calendar = load_calendars().get("default")
    budget = 16 * 3600.0  # 16 working hours: due Wednesday 16:00
    due = calendar.add(MONDAY_1600, budget)
    client = await start(notify_settings, clock)
    try:
        event = assigned(clock, "case-w", due_at=due, calendar="default", internal_budget_s=budget)
        await publisher.publish(event)
        await stored_version(notify_db, event.case_id, 1)
        # The agency's queue and the desk hear of half the time on Tuesday at 16:00 (8 working
        # hours before Wednesday 16:00), of four fifths on Wednesday at 11:18.
        half_at = datetime(2026, 12, 1, 16, 0, tzinfo=ICT)
        assert calendar.subtract(due, 0.5 * budget) == half_at
        clock.move_to(half_at)
        [half] = await probe.wait_for(1)
        clock.move_to(datetime(2026, 12, 2, 11, 18, tzinfo=ICT))
        events = await probe.wait_for(2)
        events = await probe.flush()
        auth = {"Authorization": f"Bearer {SUPERVISOR_TOKEN}"}
        listed = await client.get("/api/v1/alerts?kind=warning", headers=auth)
        listed_kinds = [
            (a["kind"], a["share"], a["clock"]) for a in (await listed.json())["alerts"]
        ]
        bad = await client.get("/api/v1/alerts?kind=nonsense", headers=auth)
    finally:
        await client.close()
    assert listed_kinds == [("warning", 0.8, "internal"), ("warning", 0.5, "internal")]
    assert bad.status == 422
    assert [type(e) for e in events] == [CaseWarning, CaseWarning]
    first, second = events
    assert isinstance(first, CaseWarning) and isinstance(second, CaseWarning)
    assert (first.share, second.share) == (0.5, 0.8)
    assert first.clock is DeadlineClock.INTERNAL and first.targets == ["police-desk"]
    assert [m.routing_key for m in probe.messages] == ["case.warning.police"] * 2
    assert first.event_id != second.event_id
    logged = await notify_db.alerts.find({"case_id": "case-w"}).sort("share", 1).to_list()
    assert [(a["kind"], a["share"], a["clock"]) for a in logged] == [
        ("warning", 0.5, "internal"),
        ("warning", 0.8, "internal"),
    ]
    assert half.event_id == logged[0]["_id"]


async def test_an_acknowledged_case_escalates_past_its_resolution_deadline(
    notify_settings: NotifySettings,
    publisher: Publisher,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    clock = Clock(MONDAY_1600)
    probe = await QueueProbe.bind(amqp_connection, topology, "case.escalated.#")
    client = await start(notify_settings, clock)
    try:
        case = assigned(clock, "case-ack", due_at=clock() + timedelta(hours=1))
        await publisher.publish(case)
        resolve_by = clock() + timedelta(hours=8)
        acknowledged = CaseUpdated(
            **case_fields(
                clock, case.case_id, 2, status=CaseStatus.ACKNOWLEDGED, due_at=resolve_by
            ),
            action="acknowledge",
            from_status=CaseStatus.ASSIGNED,
            actor="police",
        )
        await publisher.publish(acknowledged)
        await stored_version(notify_db, case.case_id, 2)
        clock.move_to(resolve_by - timedelta(minutes=1))
        assert await probe.flush() == []  # acknowledged in time, nothing yet
        clock.move_to(resolve_by)
        events = await probe.wait_for(1)
    finally:
        await client.close()
    first = events[0]
    assert isinstance(first, CaseEscalated)
    assert (first.level, first.status, first.clock) == (
        1,
        CaseStatus.ACKNOWLEDGED,
        DeadlineClock.INTERNAL,
    )
    assert abs((first.due_at - resolve_by).total_seconds()) < 0.001


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[list[tuple[dict[str, str], bytes]], str]]:
    received: list[tuple[dict[str, str], bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    async with post_endpoint("/hook", handle) as url:
        yield received, url


async def test_a_platform_past_the_legal_deadline_of_a_request_is_alerted(
    notify_settings: NotifySettings,
    publisher: Publisher,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    receiver: tuple[list[tuple[dict[str, str], bytes]], str],
) -> None:
    received, url = receiver
    clock = Clock(MONDAY_1600)
    probe = await QueueProbe.bind(
        amqp_connection, topology, "case.platform_overdue.#", "case.escalated.#"
    )
    client = await start(notify_settings, clock, f'webhook = "{url}"')
    sent_at = clock()
    answered = TakedownClock(
        request_id="req-answered",
        platform="tiktok",
        sent_at=sent_at,
        legal_due_at=sent_at + timedelta(hours=20),
    )
    request = TakedownClock(
        request_id="req-1",
        platform="facebook",
        sent_at=sent_at,
        legal_due_at=sent_at + timedelta(hours=24),
    )
    try:
        waiting = {
            "status": CaseStatus.WAITING_ON_PLATFORM,
            "legal_due_at": sent_at + timedelta(hours=48),
        }
        case = assigned(clock, "case-p", takedowns=[answered, request], **waiting)
        await publisher.publish(case)
        # TikTok answers in time: its request leaves the case's takedowns.
        update = CaseUpdated(
            **case_fields(clock, case.case_id, 2, takedowns=[request], **waiting),
            action="takedown_answered",
            from_status=CaseStatus.WAITING_ON_PLATFORM,
            actor="police",
        )
        await publisher.publish(update)
        await stored_version(notify_db, case.case_id, 2)
        clock.move_to(sent_at + timedelta(hours=23, minutes=59))
        assert await probe.flush() == []
        clock.move_to(sent_at + timedelta(hours=24))
        [missed] = await probe.wait_for(1)

        async def webhook_delivered() -> bool:
            return len(received) >= 1

        await wait_until(webhook_delivered, timeout=20, what="the webhook delivered")
        events = await probe.flush()
    finally:
        await client.close()
    assert len(events) == 1 and isinstance(missed, PlatformDeadlineMissed)
    assert (missed.request_id, missed.platform) == ("req-1", "facebook")
    assert probe.messages[0].routing_key == "case.platform_overdue.police"
    assert missed.targets == ["police-supervisor"]
    headers, body = received[0]
    # Signed at the injected clock's time (a day ahead), so checked without the library's
    # five-minute window against the real time.
    signed_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    assert abs(signed_at - (sent_at + timedelta(hours=24))) < timedelta(minutes=1)
    expected = Webhook(WEBHOOK_SECRET).sign(headers["webhook-id"], signed_at, body.decode())
    assert expected in headers["webhook-signature"].split()
    payload = json.loads(body)
    assert payload["kind"] == "platform_overdue" and payload["clock"] == "legal"
    assert payload["type"] == "case.platform_overdue" and payload["request_id"] == "req-1"
    assert payload["summary"].startswith("[Nền tảng quá hạn] facebook")
    assert headers["webhook-id"] == missed.event_id
    alert = await notify_db.alerts.find_one({"_id": missed.event_id})
    assert alert is not None and alert["kind"] == "platform_overdue"
    assert {d["channel"] for d in alert["deliveries"]} == {"amqp", "webhook"}
