"""Routing's two clocks with the real broker and database and an injected clock: working time
on the calendars file's calendar, the legal clock in calendar time, both in the events, the
overdue list following the nearer one, reassignment keeping the legal clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.contracts import CaseAssigned, CaseUpdated
from services.common.mongo import MongoDatabase
from services.common.workcalendar import load_calendars
from services.routing.app import create_app
from services.routing.settings import RoutingSettings
from tests.helpers import QueueProbe, start_client
from tests.integration.routing.conftest import Reporter, auth, case_of

pytestmark = pytest.mark.integration

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
FRIDAY_16 = datetime(2026, 11, 27, 16, 0, tzinfo=HANOI)
# The office closes on Monday 30 November too (a day off the `holidays` package does not know).
CALENDARS = """
[[calendars]]
id = "default"
extra_days_off = [2026-11-30]
"""


@dataclass
class MovableClock:
    """The time routing reads; tests move it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(FRIDAY_16)


@pytest.fixture
async def routing_at(
    routing_settings: RoutingSettings, clock: MovableClock, tmp_path: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    calendars = tmp_path / "calendars.toml"
    calendars.write_text(CALENDARS)
    settings = routing_settings.model_copy(update={"calendars_file": calendars})
    client = await start_client(create_app(settings, clock=clock), what="routing")
    yield client
    await client.close()


async def test_deadlines_count_working_time_and_the_law_counts_calendar_time(
    routing_at: TestClient[Any, Any],
    routing_db: MongoDatabase,
    reporter: Reporter,
    clock: MovableClock,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    tmp_path: Path,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.#")
    case = await case_of(routing_db, await reporter.submit())
    [assigned] = await probe.wait_for(1)
    assert isinstance(assigned, CaseAssigned)
    # One working day from Friday 16:00: an hour on Friday, Monday is off, Tuesday 16:00.
    assert assigned.due_at == datetime(2026, 12, 1, 16, 0, tzinfo=HANOI)
    assert (assigned.calendar, assigned.internal_budget_s) == ("default", 8 * 3600)
    assert assigned.legal_due_at == FRIDAY_16 + timedelta(hours=48)  # Sunday, office or not
    url = f"/api/v1/cases/{case['_id']}"

    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=HANOI)  # the legal clock has run out
    overdue = await (
        await routing_at.get("/api/v1/cases?overdue=true", headers=auth("police"))
    ).json()
    [listed] = overdue["cases"]
    assert (listed["case_id"], listed["deadline_clock"], listed["overdue"]) == (
        case["_id"],
        "legal",
        True,
    )

    reply = await routing_at.post(
        f"{url}/reassign",
        json={"agency": "culture_office", "reason": "tin giả, không phải lừa đảo"},
        headers=auth("supervisor"),
    )
    assert reply.status == 200, await reply.text()
    moved = await reply.json()
    book = load_calendars(tmp_path / "calendars.toml")
    assert moved["due_at"] is not None
    assert datetime.fromisoformat(moved["due_at"]) == book.default.add(clock.now, 16 * 3600)
    assert datetime.fromisoformat(moved["legal_due_at"]) == assigned.legal_due_at
    clock_note = moved["audit"][-1]["clock"]
    assert "internal clock started" in clock_note and "legal clock kept" in clock_note
    events = await probe.wait_for(3)
    left, arrived = events[1], events[2]
    assert isinstance(left, CaseUpdated) and isinstance(arrived, CaseAssigned)
    assert left.legal_due_at == arrived.legal_due_at == assigned.legal_due_at
    assert arrived.due_at == datetime.fromisoformat(moved["due_at"])
