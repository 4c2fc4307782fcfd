"""Appeals end to end in routing: `report.appealed` reopens the decided case for review by
someone other than the decider; the review is announced; an appeal that does not fit is
recorded and dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.contracts import CaseUpdated, ReportAppealed, ReportSubmitted, new_event_id
from services.common.mongo import MongoDatabase
from tests.helpers import QueueProbe, reject_body, wait_until
from tests.integration.routing.conftest import Reporter, auth, case_of

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
REVERSAL = {
    "result": "reversed",
    "outcome": "removed_by_platform",
    "legal_basis": "nd147-2024-removal",
    "explanation": "Xem xét lại: trang giả mạo vi phạm; đã yêu cầu nền tảng gỡ.",
    "note": "Quyết định ban đầu chưa kiểm tra kỹ.",
}


async def rejected_case(routing: Client, db: MongoDatabase, report: ReportSubmitted) -> str:
    """The report's case, rejected by the police with a decision; its id."""
    case = await case_of(db, report)
    reply = await routing.post(
        f"/api/v1/cases/{case['_id']}/reject", json=reject_body(), headers=auth("police")
    )
    assert reply.status == 200, await reply.text()
    return str(case["_id"])


def appeal(report: ReportSubmitted, case_id: str, decided_at: datetime, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "event_id": new_event_id(),
        "occurred_at": datetime.now(UTC),
        "report_id": report.report_id,
        "tracking_code": report.tracking_code,
        "case_id": case_id,
        "reason": "Trang vẫn mạo danh tôi và lừa người quen chuyển tiền.",
        "decided_at": decided_at,
    }
    return ReportAppealed(**{**values, **fields})


async def stored(db: MongoDatabase, case_id: str) -> dict[str, Any]:
    found = await db.cases.find_one({"_id": case_id})
    assert found is not None
    return found


async def test_an_appeal_is_reviewed_by_someone_other_than_the_decider_and_announced(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.updated.#")
    report = await reporter.submit()
    case_id = await rejected_case(routing, routing_db, report)
    decided_at = _aware((await stored(routing_db, case_id))["decision"]["decided_at"])
    await reporter.publisher.publish(appeal(report, case_id, decided_at))

    async def reopened() -> dict[str, Any] | None:
        case = await stored(routing_db, case_id)
        return case if case["status"] == "appealed" else None

    case = await wait_until(reopened, what="the case reopened as appealed")
    assert case["appeals"][0]["decided_by"] == "police" and case["due_at"] is not None
    url = f"/api/v1/cases/{case_id}"
    police_view = await (await routing.get(url, headers=auth("police"))).json()
    assert "review" not in police_view["allowed_actions"]
    refused = await routing.post(f"{url}/review", json=REVERSAL, headers=auth("police"))
    assert refused.status == 403 and "someone else" in (await refused.json())["error"]["message"]
    reviewed = await routing.post(f"{url}/review", json=REVERSAL, headers=auth("supervisor"))
    assert reviewed.status == 200, await reviewed.text()
    detail = await reviewed.json()
    assert (detail["status"], detail["outcome"]) == ("resolved", "removed_by_platform")
    assert detail["decision"]["review"] == "reversed"
    assert detail["decision"]["decided_by"] == "supervisor"
    assert detail["appeals"][0]["result"] == "reversed"
    assert [a["action"] for a in detail["audit"]][-2:] == ["appeal", "review"]

    async def announced() -> CaseUpdated | None:
        updates = [e for e in probe.events if isinstance(e, CaseUpdated) and e.case_id == case_id]
        return next((e for e in updates if e.action == "review"), None)

    review = await wait_until(announced, what="the review's case.updated")
    actions = [e.action for e in probe.events if isinstance(e, CaseUpdated)]
    assert actions == ["reject", "appeal", "review"]
    assert review.decision is not None and review.decision.review == "reversed"
    assert review.decision.appeal_until is None and review.status == "resolved"


async def test_an_appeal_that_does_not_fit_is_recorded_dropped_and_never_repeated(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    report = await reporter.submit()
    case_id = await rejected_case(routing, routing_db, report)
    decided_at = _aware((await stored(routing_db, case_id))["decision"]["decided_at"])
    late = appeal(report, case_id, decided_at, occurred_at=decided_at + timedelta(days=15))
    stranger = appeal(report, case_id, decided_at, report_id="report-of-someone-else")
    await reporter.publisher.publish(late)
    await reporter.publisher.publish(late)  # redelivered: recorded once

    async def refusals() -> list[dict[str, Any]]:
        audit = (await stored(routing_db, case_id))["audit"]
        return [a for a in audit if a["action"] == "appeal_refused"]

    async def refused(count: int) -> list[dict[str, Any]] | None:
        found = await refusals()
        return found if len(found) >= count else None

    [first] = await wait_until(lambda: refused(1), what="the late appeal's refusal")
    assert first["event_id"] == late.event_id and "window closed" in first["note"]
    await reporter.publisher.publish(stranger)  # behind both copies of `late` in the queue
    await wait_until(lambda: refused(2), what="the stranger's appeal's refusal")
    assert [r["event_id"] for r in await refusals()] == [late.event_id, stranger.event_id]
    case = await stored(routing_db, case_id)
    assert case["status"] == "rejected" and case["version"] == 2 and case.get("appeals") == []


def _aware(moment: datetime) -> datetime:
    """A time read back from the database (naive UTC) as an aware one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
