"""A deadline or an alert notify cannot process is quarantined with its error; the scanner and
the deliverer go on with the rest, and /readyz stays truthful."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from services.common.mongo import MongoDatabase
from services.notify.settings import NotifySettings
from tests.helpers import post_endpoint, wait_until
from tests.integration.notify.conftest import Cases, short_policy, start_notify

pytestmark = pytest.mark.integration


@pytest.fixture
async def hook() -> AsyncIterator[tuple[list[bytes], str]]:
    received: list[bytes] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    async with post_endpoint("/hook", handle) as url:
        yield received, url


def poison_deadline(now: datetime) -> dict[str, Any]:
    return {
        "_id": "case-poison",
        "version": 1,
        "agency": "police",
        "category": "scam_fraud",
        "priority": "galactic",  # no such priority: the policy cannot place it
        "status": "assigned",
        "due_at": now - timedelta(seconds=5),
        "deadline_key": "police@poison",
        "sent": 0,
        "report_id": "report-poison",
        "tracking_code": "TC-poison",
        "rev": 1,
        "next_due_at": now - timedelta(seconds=5),
    }


def unwritable_deadline(now: datetime) -> dict[str, Any]:
    """A deadline that reads well but whose claim the server refuses (`$push` to a string)."""
    doc = poison_deadline(now)
    doc.update(_id="case-unwritable", priority="high", outbox="not a list")
    return doc


def poison_alert(now: datetime) -> dict[str, Any]:
    return {
        "_id": "alert-poison",
        "level": 1,
        "recorded_at": now,
        "event": "{not an event",
        "deliveries": [{"channel": "webhook", "status": "pending"}],
        "next_attempt_at": now - timedelta(seconds=5),
    }


async def test_poison_deadline_and_alert_are_quarantined_while_others_escalate_and_deliver(
    notify_settings: NotifySettings,
    cases: Cases,
    notify_db: MongoDatabase,
    hook: tuple[list[bytes], str],
) -> None:
    received, url = hook
    client = await start_notify(notify_settings, short_policy(f'webhook = "{url}"'))
    try:
        now = datetime.now(UTC)
        await notify_db.deadlines.insert_many([poison_deadline(now), unwritable_deadline(now)])
        await notify_db.alerts.insert_one(poison_alert(now))
        case = await cases.assign(due_in=0.2)

        async def delivered() -> bool:
            return case.case_id in {json.loads(body)["case_id"] for body in received}

        await wait_until(delivered, timeout=20, what="the good case's webhook alert")

        async def quarantined() -> bool:
            marked = await notify_db.deadlines.count_documents({"poisoned": {"$exists": True}})
            alert = await notify_db.alerts.find_one({"_id": "alert-poison"})
            return marked == 2 and bool(alert and "poisoned" in alert)

        await wait_until(quarantined, what="the poison deadline and alert quarantined")
        deadline = await notify_db.deadlines.find_one({"_id": "case-poison"})
        alert = await notify_db.alerts.find_one({"_id": "alert-poison"})
        assert deadline is not None and "next_due_at" not in deadline
        assert "galactic" in deadline["poisoned"]["error"]
        unwritable = await notify_db.deadlines.find_one({"_id": "case-unwritable"})
        assert unwritable is not None and "next_due_at" not in unwritable
        assert unwritable["sent"] == 0 and unwritable["poisoned"]["error"]
        assert alert is not None and "next_attempt_at" not in alert
        ready = await client.get("/readyz")
        checks = (await ready.json())["checks"]
        assert ready.status == 200, checks
        assert checks["loop:deadline-scanner"] and checks["loop:alert-delivery"]
        metrics = await (await client.get("/metrics")).text()
        assert 'quarantined_documents_total{collection="deadlines"}' in metrics
        assert 'quarantined_documents_total{collection="alerts"}' in metrics
    finally:
        await client.close()
