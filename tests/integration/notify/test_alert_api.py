"""The alert log API: supervisors only, filters, pages, clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.mongo import MongoDatabase
from tests.helpers import wait_until
from tests.integration.notify.conftest import SUPERVISOR_TOKEN, Cases

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {SUPERVISOR_TOKEN}"}


async def test_the_alert_log_needs_a_supervisor_token(notify: Any) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        reply = await notify.get("/api/v1/alerts", headers=headers)
        assert reply.status == 401
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await reply.json())["error"]["status"] == 401


async def test_alerts_are_listed_newest_first_with_filters_and_pages(
    notify: Any, cases: Cases, notify_db: MongoDatabase
) -> None:
    first = await cases.assign(due_in=0.1)
    second = await cases.assign(due_in=0.1, agency="culture_office")

    async def all_recorded() -> bool:
        return await notify_db.alerts.count_documents({}) == 6

    await wait_until(all_recorded, timeout=20, what="six alerts")
    reply = await notify.get("/api/v1/alerts", headers=AUTH, params={"limit": "4"})
    assert reply.status == 200
    page = await reply.json()
    assert len(page["alerts"]) == 4 and page["next_cursor"]
    times = [a["recorded_at"] for a in page["alerts"]]
    assert times == sorted(times, reverse=True)
    rest = await (
        await notify.get(
            "/api/v1/alerts", headers=AUTH, params={"limit": "4", "cursor": page["next_cursor"]}
        )
    ).json()
    assert len(rest["alerts"]) == 2 and rest["next_cursor"] is None
    seen = {a["alert_id"] for a in page["alerts"] + rest["alerts"]}
    assert len(seen) == 6

    culture = await (
        await notify.get("/api/v1/alerts", headers=AUTH, params={"agency": "culture_office"})
    ).json()
    assert {a["case_id"] for a in culture["alerts"]} == {second.case_id}
    level2 = await (
        await notify.get(
            "/api/v1/alerts", headers=AUTH, params={"case_id": first.case_id, "level": "2"}
        )
    ).json()
    [alert] = level2["alerts"]
    assert alert["targets"] == ["police-supervisor", "provincial"]
    assert alert["kind"] == "escalation"
    assert alert["deliveries"][0] == {
        "n": 1,
        "target": "broker",
        "channel": "amqp",
        "action": None,
        "address": "case.escalated.police.2",
        "status": "delivered",
        "attempts": 0,
        "last_error": None,
        "delivered_at": alert["deliveries"][0]["delivered_at"],
        "next_attempt_at": None,
        "resends": [],
    }


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "abc"}, 422, "limit"),
        ({"level": "x"}, 422, "level"),
        ({"status": "lost"}, 422, "status"),
        ({"cursor": "not-a-cursor"}, 422, "cursor"),
    ],
)
async def test_bad_query_parameters_are_named(
    notify: Any, params: dict[str, str], status: int, field: str | None
) -> None:
    reply = await notify.get("/api/v1/alerts", headers=AUTH, params=params)
    assert reply.status == status
    body = await reply.json()
    if field:
        assert [e["field"] for e in body["error"]["errors"]] == [field]


async def test_health_readiness_and_metrics(notify: Any) -> None:
    assert (await notify.get("/healthz")).status == 200
    ready = await notify.get("/readyz")
    assert ready.status == 200
    metrics = await (await notify.get("/metrics")).text()
    for name in (
        "notify_open_deadlines",
        "notify_escalations_total",
        "notify_scan_duration_seconds",
        "notify_escalation_lateness_seconds",
        "notify_delivery_failures_total",
    ):
        assert name in metrics
