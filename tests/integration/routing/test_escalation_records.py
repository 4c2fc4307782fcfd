"""Escalations stored as records beside their cases: shown in the case's history, the overview's
alert log and overdue table as before, and those kept in a case's own audit log by earlier
versions copied once at start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from services.common.contracts import CaseEscalated, Category
from services.common.migrations import MIGRATIONS
from services.common.mongo import MongoDatabase
from services.routing.escalations import EscalationLog
from services.routing.settings import RoutingSettings
from tests.helpers import escalation_event, sign_in, wait_until
from tests.integration.routing.conftest import Reporter, auth, case_of, set_due, start_routing

Client = TestClient[Any, Any]


def escalation_of(case: dict[str, Any], level: int, at: datetime) -> CaseEscalated:
    """notify's escalation of the stored `case` at `level`, made at `at`."""
    return escalation_event(
        escalated_at=at,
        overdue=timedelta(hours=level),
        targets=[f"supervisor:police:{level}"],
        case_id=case["_id"],
        report_id=case["report_id"],
        tracking_code=case["tracking_code"],
        level=level,
    )


async def audit_of(routing: Client, case_id: str) -> list[tuple[str, str | None]]:
    """The case's history as the agency API shows it: (action, note) per line."""
    response = await routing.get(f"/api/v1/cases/{case_id}", headers=auth("police"))
    assert response.status == 200
    return [(entry["action"], entry.get("note")) for entry in (await response.json())["audit"]]


async def test_the_overview_shows_escalations_in_its_alert_log_and_overdue_table(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    past = datetime.now(UTC) - timedelta(days=3)
    await set_due(routing_db, case["_id"], past)  # so the overview counts it by its level
    for level in (1, 2):
        await reporter.publisher.publish(escalation_of(case, level, datetime.now(UTC)))

    async def both_recorded() -> bool:
        return await routing_db.escalations.count_documents({"case_id": case["_id"]}) == 2

    await wait_until(both_recorded, what="both escalations recorded")
    assert [action for action, _ in await audit_of(routing, case["_id"])] == [
        "assign",
        "escalated",
        "escalated",
    ]
    await sign_in(routing, "supervisor")
    overview = await (await routing.get("/console/overview?lang=en")).text()
    alert_log = overview.split('id="alerts-h"')[1].split('id="dash-h"')[0]
    assert alert_log.count(case["tracking_code"]) == 2
    assert "supervisor:police:2" in alert_log
    # The police row of "overdue by level": none yet, 1, 2, 3 or more.
    police_row = overview.split("agency=police&amp;overdue=1")[1].split("</tr>")[0]
    assert "<td>0</td><td>0</td><td>1</td><td>0</td>" in police_row


async def test_escalations_kept_in_a_cases_audit_log_are_copied_once_at_start(
    routing: Client,
    routing_settings: RoutingSettings,
    routing_db: MongoDatabase,
    reporter: Reporter,
) -> None:
    case = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    escalation = escalation_of(case, 1, datetime.now(UTC))
    line = {
        "at": escalation.escalated_at,
        "actor": "notify",
        "action": "escalated",
        "from": "assigned",
        "to": "assigned",
        "note": "level 1: supervisor:police:1",
        "level": 1,
        "event_id": escalation.event_id,
    }
    # As an earlier version stored it: the line in the audit log, its event id in `escalations`
    # (and, a database from before, no record of the copy having run clean).
    await routing_db.cases.update_one(
        {"_id": case["_id"]},
        {"$push": {"audit": line, "escalations": escalation.event_id}},
    )
    await routing_db[MIGRATIONS].delete_one({"_id": "cases.escalations-copied"})
    restarted = await start_routing(routing_settings)
    try:
        stored = await routing_db.cases.find_one({"_id": case["_id"]})
        assert stored is not None and "escalations" not in stored
        record = await routing_db.escalations.find_one({"_id": escalation.event_id})
        assert record is not None and record["case_id"] == case["_id"]
        # Shown once, though both the case and the record hold it.
        audit = await audit_of(restarted, case["_id"])
        assert [note for action, note in audit if action == "escalated"] == [line["note"]]
    finally:
        await restarted.close()


async def test_the_alert_log_looks_further_back_until_its_page_is_full(
    routing_db: MongoDatabase,
) -> None:
    log = EscalationLog(routing_db)
    await log.ensure_indexes()
    now = datetime.now(UTC).replace(microsecond=0)  # as stored: to the millisecond
    case = {"_id": "case-1", "report_id": "r-1", "tracking_code": "K7QX-3MPA-WZ9D"}
    ages = [timedelta(minutes=10), timedelta(days=2), timedelta(days=400)]
    await log.record([escalation_of(case, 1, now - age) for age in ages])
    assert [e.at for e in await log.recent(limit=1, now=now)] == [now - ages[0]]
    assert [e.at for e in await log.recent(limit=2, now=now)] == [now - a for a in ages[:2]]
    assert [e.at for e in await log.recent(limit=5, now=now)] == [now - a for a in ages]
