"""What wakes notify's loops: the scanner looks when a deadline it was told of falls due (not
on every stored case event), and the deliverer is woken only for an alert it has to deliver."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.common.clock import utcnow
from services.notify.consumer import NotifyHandlers
from services.notify.deadlines import NEXT_DUE
from services.notify.escalation import parse_escalation_policy
from services.notify.scanner import Scanner
from tests.helpers import escalation_event, wait_until

pytestmark = pytest.mark.unit

LONG = 30.0  # a scan interval no test here waits out


class CountingStore:
    """A deadline store with nothing due; counts the scanner's look-ups. While `hold` is
    clear, a scan's read waits (a scan in progress)."""

    def __init__(self) -> None:
        self.scans = 0
        self.lookups = 0
        self.hold = asyncio.Event()
        self.hold.set()
        self.reading = asyncio.Event()

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        self.scans += 1
        self.reading.set()
        await asyncio.sleep(0)  # a round trip yields, as a scanner that never slept would too
        await self.hold.wait()
        return []

    async def next_due_before(self, horizon: datetime) -> datetime | None:
        self.lookups += 1
        await asyncio.sleep(0)
        return None


async def _scans_reach(store: CountingStore, count: int) -> None:
    async def reached() -> bool:
        return store.scans >= count

    await wait_until(reached, interval=0.01, what=f"{count} scans")


async def _stays_at(store: CountingStore, count: int) -> None:
    """The scanner sleeps (until the far interval) once it has scanned `count` times."""
    await asyncio.sleep(0.3)
    assert store.scans == count, "no further scan before the next deadline or the interval"


@pytest.fixture
async def running() -> Any:
    store = CountingStore()
    scanner = Scanner(store, clock=utcnow, interval=LONG, batch=10, on_claimed=lambda: None)  # type: ignore[arg-type]
    task = asyncio.create_task(scanner.run())
    await _scans_reach(store, 1)
    yield scanner, store
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_deadline_due_before_the_planned_look_is_looked_at_when_due(running: Any) -> None:
    scanner, store = running
    scanner.wake_at(utcnow() + timedelta(milliseconds=50))
    await _scans_reach(store, 2)
    await _stays_at(store, 2)


async def test_a_deadline_due_after_the_planned_look_costs_no_look_up(running: Any) -> None:
    scanner, store = running
    for seconds in (LONG * 2, LONG * 3):
        scanner.wake_at(utcnow() + timedelta(seconds=seconds))
    await _stays_at(store, 1)
    assert store.lookups == 0, "and no look-up either: the scan's own read found nothing due"


class OneDueSoon(CountingStore):
    """One alert, due 100 ms after the first scan's read (so that scan always finds it ahead,
    however late it runs); its claim moves it past any interval."""

    def __init__(self) -> None:
        super().__init__()
        self.at: datetime | None = None
        self.claimed = 0

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        await super().due(now, limit)
        if self.at is None:
            self.at = utcnow() + timedelta(milliseconds=100)
        return [{NEXT_DUE: self.at}] if self.at <= now else []

    async def claim(self, docs: list[dict[str, Any]], now: datetime) -> int:
        self.claimed += len(docs)
        self.at = now + timedelta(days=1)
        return len(docs)


async def test_a_caught_up_scan_reads_when_the_next_alert_falls_due_without_a_look_up() -> None:
    store = OneDueSoon()
    scanner = Scanner(store, clock=utcnow, interval=LONG, batch=10, on_claimed=lambda: None)  # type: ignore[arg-type]
    task = asyncio.create_task(scanner.run())
    try:
        await _scans_reach(store, 2)  # the first found the alert ahead, the second claims it
        await _stays_at(store, 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (store.claimed, store.lookups) == (1, 0)


async def test_a_deadline_told_of_during_a_scan_shortens_the_sleep_after_it(
    running: Any,
) -> None:
    scanner, store = running
    store.hold.clear()
    store.reading.clear()
    scanner.wake_at(utcnow())  # a scan starts now and waits in its read
    async with asyncio.timeout(10):
        await store.reading.wait()
    scanner.wake_at(utcnow() + timedelta(milliseconds=50))  # stored while the scan reads
    store.hold.set()
    await _scans_reach(store, 3)
    await _stays_at(store, 3)


POLICY = parse_escalation_policy(
    """
version = "wakes"
[[levels]]
level = 1
after = "0s"
roles = ["sup"]

[[targets]]
id = "desk"
role = "sup"
webhook = "https://desk.example.org/hook"

[[targets]]
id = "queue-only"
role = "sup"
"""
)


class RecordingAlerts:
    """An alert log that stores every alert it is given."""

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []

    async def record_many(self, docs: list[dict[str, Any]]) -> list[bool | Exception]:
        self.docs.extend(docs)
        return [True] * len(docs)


@pytest.mark.parametrize(
    ("targets", "woken"), [(["queue-only"], 0), (["desk"], 1), (["queue-only", "desk"], 1)]
)
async def test_the_deliverer_is_woken_only_for_an_alert_with_a_delivery_to_make(
    targets: list[str], woken: int
) -> None:
    wakes: list[None] = []
    alerts = RecordingAlerts()
    handlers = NotifyHandlers(
        None,  # type: ignore[arg-type]  # case events are not part of this
        alerts,  # type: ignore[arg-type]
        POLICY,
        utcnow,
        email_enabled=False,
        alert_recorded=lambda: wakes.append(None),
    )
    alert = escalation_event(escalated_at=utcnow(), overdue=timedelta(hours=1), targets=targets)
    assert await handlers.on_alerts([alert]) == [None]
    assert len(alerts.docs) == 1, "the alert is recorded either way"
    assert len(wakes) == woken
