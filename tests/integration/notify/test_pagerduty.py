"""PagerDuty targets: a trigger per escalation and a resolve when the case closes, both with
the case id as dedup_key, delivered to a local stand-in for the Events API v2."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from services.common.contracts import CaseStatus
from services.common.mongo import MongoDatabase
from services.notify.settings import NotifySettings
from tests.helpers import post_endpoint, wait_until
from tests.integration.notify.conftest import SUPERVISOR_TOKEN, Cases, short_policy, start_notify

pytestmark = pytest.mark.integration
ROUTING_KEY = "R0UTING-KEY-police"
AUTH = {"Authorization": f"Bearer {SUPERVISOR_TOKEN}"}


@dataclass
class FakePagerDuty:
    """Answers like the Events API v2 (202 with the dedup_key); the first `busy` events get 503."""

    busy: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0

    async def enqueue(self, request: web.Request) -> web.Response:
        event = await request.json()
        if self.refused < self.busy:
            self.refused += 1
            return web.json_response({"status": "throttled"}, status=503)
        self.events.append(event)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]},
            status=202,
        )

    def actions(self, case_id: str) -> list[str]:
        return [e["event_action"] for e in self.events if e["dedup_key"] == case_id]


@pytest.fixture
async def pagerduty() -> AsyncIterator[tuple[FakePagerDuty, str]]:
    fake = FakePagerDuty()
    async with post_endpoint("/v2/enqueue", fake.enqueue) as url:
        yield fake, url


def pagerduty_policy(url: str) -> Any:
    return short_policy(f'pagerduty_routing_key = "{ROUTING_KEY}"\npagerduty_events_url = "{url}"')


async def test_an_escalation_triggers_and_closing_the_case_resolves_with_the_case_id(
    notify_settings: NotifySettings,
    cases: Cases,
    notify_db: MongoDatabase,
    pagerduty: tuple[FakePagerDuty, str],
) -> None:
    fake, url = pagerduty
    client = await start_notify(notify_settings, pagerduty_policy(url))
    try:
        case = await cases.assign(due_in=0.1)

        async def triggered() -> bool:
            return "trigger" in fake.actions(case.case_id)

        await wait_until(triggered, timeout=20, what="the PagerDuty trigger")
        await cases.update(case, CaseStatus.REJECTED, None, action="reject")

        async def resolution_delivered() -> dict[str, Any] | None:
            # The deliverer records an outcome after PagerDuty has answered: wait for the
            # record, not only for the request to arrive.
            reply = await client.get(
                "/api/v1/alerts", headers=AUTH, params={"case_id": case.case_id}
            )
            body: dict[str, Any] = await reply.json()
            done = [
                d
                for a in body["alerts"]
                if a["kind"] == "resolution"
                for d in a["deliveries"]
                if d["status"] != "pending"
            ]
            return body if done else None

        log = await wait_until(resolution_delivered, timeout=20, what="the resolve recorded")
    finally:
        await client.close()
    trigger = next(e for e in fake.events if e["event_action"] == "trigger")
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["payload"]["severity"] == "error"  # the case's priority is high
    assert trigger["payload"]["source"] == "incidents/police"
    assert trigger["payload"]["custom_details"]["tracking_code"] == case.tracking_code
    resolve = next(e for e in fake.events if e["event_action"] == "resolve")
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": case.case_id,
    }
    assert fake.actions(case.case_id)[-1] == "resolve"
    [resolution] = [a for a in log["alerts"] if a["kind"] == "resolution"]
    [delivery] = resolution["deliveries"]
    assert (delivery["channel"], delivery["action"], delivery["status"]) == (
        "pagerduty",
        "resolve",
        "delivered",
    )
    assert ROUTING_KEY not in json.dumps(log)  # the integration key is never shown


async def test_a_trigger_still_retrying_when_the_case_closes_is_never_sent(
    notify_settings: NotifySettings,
    cases: Cases,
    notify_db: MongoDatabase,
    pagerduty: tuple[FakePagerDuty, str],
) -> None:
    fake, url = pagerduty
    fake.busy = 1_000_000  # PagerDuty refuses everything until the case has closed
    settings = notify_settings.model_copy(update={"retry_base_seconds": 0.5})
    client = await start_notify(settings, pagerduty_policy(url))
    try:
        case = await cases.assign(due_in=0.1)

        async def refused_once() -> bool:
            return fake.refused > 0

        await wait_until(refused_once, timeout=20, what="a refused trigger")
        await cases.update(case, CaseStatus.REJECTED, None, action="reject")

        async def resolution_recorded() -> bool:
            return await notify_db.alerts.count_documents({"kind": "resolution"}) == 1

        await wait_until(resolution_recorded, timeout=20, what="the resolution")
        fake.busy = 0

        async def settled() -> bool:
            alerts = await notify_db.alerts.find({"case_id": case.case_id}).to_list()
            statuses = [
                d["status"] for a in alerts for d in a["deliveries"] if d["channel"] == "pagerduty"
            ]
            return bool(statuses) and "pending" not in statuses

        await wait_until(settled, timeout=20, what="every PagerDuty delivery settled")
        alerts = await notify_db.alerts.find({"case_id": case.case_id}).to_list()
    finally:
        await client.close()
    assert fake.actions(case.case_id) == ["resolve"]
    triggers = [d for a in alerts for d in a["deliveries"] if d.get("action") == "trigger"]
    assert triggers and all(d["status"] == "skipped" for d in triggers)
    assert "closed before the trigger" in triggers[0]["last_error"]
