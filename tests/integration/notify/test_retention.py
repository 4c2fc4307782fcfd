"""Notify lets go of what is past retention by itself: closed deadlines are compacted (a late
event about the case still finds it closed), finished alerts deleted; everything live stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.common.amqp import Topology
from services.common.mongo import MongoDatabase
from services.common.retention import RetentionLoop
from services.notify.app import CASES_QUEUE
from services.notify.retention import COMPACTED_AT, notify_sweeps
from services.notify.settings import NotifySettings
from tests.helpers import wait_until
from tests.integration.notify.conftest import Cases, start_notify

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
OLD, YOUNG = NOW - timedelta(days=40), NOW - timedelta(days=1)


def deadline(case_id: str, status: str, updated_at: datetime, **more: Any) -> dict[str, Any]:
    return {
        "_id": case_id,
        "version": 3,
        "rev": 5,
        "agency": "police",
        "category": "scam_fraud",
        "priority": "high",
        "status": status,
        "due_at": None,
        "report_id": f"report-{case_id}",
        "tracking_code": f"TC-{case_id}",
        "sent": 1,
        "updated_at": updated_at,
        **more,
    }


def alert(alert_id: str, recorded_at: datetime, **more: Any) -> dict[str, Any]:
    return {"_id": alert_id, "case_id": "c", "recorded_at": recorded_at, "deliveries": [], **more}


async def fill(db: MongoDatabase) -> None:
    await db.deadlines.insert_many(
        [
            deadline("closed-old", "resolved", OLD),
            deadline("closed-young", "resolved", YOUNG),
            deadline("open-old", "assigned", OLD, next_due_at=NOW + timedelta(hours=1)),
            deadline("closed-old-unpublished", "rejected", OLD, outbox_since=OLD, outbox=[]),
        ]
    )
    await db.alerts.insert_many(
        [
            alert("done-old", NOW - timedelta(days=100)),
            alert("done-young", NOW - timedelta(days=10)),
            alert("pending-old", NOW - timedelta(days=100), next_attempt_at=NOW),
        ]
    )


def consumed(queue: str) -> float:
    """Messages of `queue` handled and acked so far in this process."""
    value = REGISTRY.get_sample_value("messages_consumed_total", {"queue": queue, "outcome": "ok"})
    return value or 0.0


async def test_a_pass_compacts_closed_deadlines_and_deletes_finished_alerts_only(
    notify_db: MongoDatabase,
) -> None:
    await fill(notify_db)
    sweeps = notify_sweeps(
        notify_db, lambda: NOW, deadlines=timedelta(days=30), alerts=timedelta(days=90)
    )
    removed = await RetentionLoop(sweeps, clock=lambda: NOW, every_seconds=3600).sweep_once()
    assert list(removed.values()) == [1, 1]

    compacted = await notify_db.deadlines.find_one({"_id": "closed-old"})
    assert compacted == {
        "_id": "closed-old",
        "version": 3,
        "rev": 5,
        "status": "resolved",
        "updated_at": compacted and compacted["updated_at"],
        COMPACTED_AT: compacted and compacted[COMPACTED_AT],
    }
    for kept in ("closed-young", "open-old", "closed-old-unpublished"):
        doc = await notify_db.deadlines.find_one({"_id": kept})
        assert doc is not None and "tracking_code" in doc and COMPACTED_AT not in doc
    assert sorted(await notify_db.alerts.distinct("_id")) == ["done-young", "pending-old"]
    # A second pass finds nothing more.
    again = await RetentionLoop(sweeps, clock=lambda: NOW, every_seconds=3600).sweep_once()
    assert list(again.values()) == [0, 0]


async def test_the_service_runs_retention_and_a_late_event_leaves_a_compacted_case_closed(
    notify_settings: NotifySettings, notify_db: MongoDatabase, cases: Cases, topology: Topology
) -> None:
    await fill(notify_db)
    client = await start_notify(notify_settings)
    try:

        async def swept() -> bool:
            doc = await notify_db.deadlines.find_one({"_id": "closed-old"})
            gone = await notify_db.alerts.count_documents({"_id": "done-old"}) == 0
            return bool(doc and COMPACTED_AT in doc and gone)

        await wait_until(swept, what="the first retention pass at start")
        checks = (await (await client.get("/readyz")).json())["checks"]
        assert checks["loop:retention"] is True
        # An older event about the compacted case (version 1 < 3) is consumed and changes nothing.
        queue = topology.queue(CASES_QUEUE.name)
        before = consumed(queue)
        cases.versions["closed-old"] = 0
        await cases.assign(due_in=0.1, case_id="closed-old")

        async def handled() -> bool:
            return consumed(queue) - before >= 1

        await wait_until(handled, what="the late case event consumed")
        doc = await notify_db.deadlines.find_one({"_id": "closed-old"})
        assert doc is not None and doc["status"] == "resolved" and "next_due_at" not in doc
    finally:
        await client.close()
