"""Appeals: once per report within the decision's window, announced as `report.appealed`,
the review's result shown to the reporter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import Publisher, Topology
from services.common.contracts import AppealResult, CaseStatus, ReportAppealed
from services.common.mongo import MongoDatabase
from tests.helpers import QueueProbe
from tests.integration.intake.decision_events import (
    Client,
    assigned,
    decided,
    public_decision,
    reviewed,
    status_when,
    submitted,
)

pytestmark = pytest.mark.integration

REASON = "Trang giả mạo vẫn còn hoạt động, tôi vừa kiểm tra lại sáng nay."


async def _decided_report(
    intake: Client,
    db: MongoDatabase,
    publisher: Publisher,
    decided_at: datetime,
    **decision: Any,
) -> dict[str, Any]:
    report = await submitted(intake, db)
    await publisher.publish(assigned(report))
    await publisher.publish(decided(report, 2, public_decision(decided_at, **decision)))
    await status_when(intake, report["tracking_code"], lambda b: b["decision"] is not None)
    return report


async def _appeal(intake: Client, code: str, reason: Any = REASON) -> tuple[int, Any]:
    reply = await intake.post(f"/api/v1/reports/{code}/appeal", json={"reason": reason})
    return reply.status, await reply.json()


async def test_an_appeal_is_accepted_once_announced_and_the_review_result_shown(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.appealed")
    publisher = await Publisher.open(amqp_connection, topology)
    decided_at = datetime.now(UTC) - timedelta(days=2)
    report = await _decided_report(intake, intake_db, publisher, decided_at)
    code = report["tracking_code"]

    assert (await _appeal(intake, code, "   "))[0] == 422
    status, body = await _appeal(intake, code, f"  {REASON}  ")
    assert status == 201 and body["status"] == "appealed"
    again, refused = await _appeal(intake, code)
    assert again == 409
    assert refused["error"]["errors"][0]["type"] == "already_appealed"

    (event,) = await probe.wait_for(1)
    assert isinstance(event, ReportAppealed)
    assert event.report_id == report["_id"] and event.case_id == f"case-of-{report['_id']}"
    assert event.reason == REASON
    assert abs(event.decided_at - decided_at) < timedelta(milliseconds=1)
    view = await status_when(intake, code, lambda b: b["status"] == "appealed")
    assert view["appeal"] is not None and view["decision"]["can_appeal"] is False

    # Routing moves the case to `appealed`, then a supervisor's review reverses the decision.
    appealed_decision = public_decision(decided_at, window=None)
    await publisher.publish(decided(report, 3, appealed_decision, CaseStatus.APPEALED, "appeal"))
    await publisher.publish(reviewed(report, 4, AppealResult.REVERSED))
    view = await status_when(intake, code, lambda b: b["decision"]["review"] == "reversed")
    assert view["status"] == "resolved"
    assert view["decision"]["review_label"] == "The review reversed the earlier decision"
    assert [s["status"] for s in view["history"]][-2:] == ["appealed", "resolved"]
    page = await (await intake.get(f"/status/{code}")).text()
    assert "Kết quả xem xét lại: hủy bỏ quyết định trước" in page
    assert 'id="appeal-form"' not in page
    assert len(await probe.flush()) == 1  # one appeal, however often it was asked


async def test_an_appeal_is_refused_after_the_window_without_a_decision_or_when_not_allowed(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.appealed")
    publisher = await Publisher.open(amqp_connection, topology)
    late = await _decided_report(
        intake, intake_db, publisher, datetime.now(UTC) - timedelta(days=15)
    )
    status, body = await _appeal(intake, late["tracking_code"])
    assert status == 410 and body["error"]["errors"][0]["type"] == "window_closed"
    page = await (await intake.get(f"/status/{late['tracking_code']}?lang=en")).text()
    assert "The time to appeal this decision ended on" in page

    closed = await _decided_report(intake, intake_db, publisher, datetime.now(UTC), window=None)
    status, body = await _appeal(intake, closed["tracking_code"])
    assert status == 409 and body["error"]["errors"][0]["type"] == "not_appealable"

    undecided = await submitted(intake, intake_db)
    status, body = await _appeal(intake, undecided["tracking_code"])
    assert status == 409 and body["error"]["errors"][0]["type"] == "no_decision"
    assert (await _appeal(intake, "AAAA-BBBB-CCCC"))[0] == 404
    assert await probe.flush() == []


async def test_the_status_page_form_appeals_with_its_csrf_token_and_redirects_back(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    publisher = await Publisher.open(amqp_connection, topology)
    report = await _decided_report(intake, intake_db, publisher, datetime.now(UTC))
    code = report["tracking_code"]
    forged = await intake.post(f"/status/{code}/appeal", data={"reason": REASON})
    assert forged.status == 403
    page = await (await intake.get(f"/status/{code}?lang=en")).text()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    empty = await intake.post(f"/status/{code}/appeal", data={"reason": " ", "csrf_token": token})
    assert empty.status == 422 and 'id="reason-error"' in await empty.text()
    sent = await intake.post(
        f"/status/{code}/appeal?lang=en",
        data={"reason": REASON, "csrf_token": token},
        allow_redirects=False,
    )
    assert sent.status == 303
    assert sent.headers["Location"] == f"/status/{code}?lang=en&appealed=1"
    confirmed = await (await intake.get(sent.headers["Location"])).text()
    assert "Your appeal was received." in confirmed and "You appealed this decision" in confirmed


async def test_concurrent_appeals_of_one_report_store_one_appeal(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.appealed")
    publisher = await Publisher.open(amqp_connection, topology)
    report = await _decided_report(intake, intake_db, publisher, datetime.now(UTC))
    replies = await asyncio.gather(*(_appeal(intake, report["tracking_code"]) for _ in range(6)))
    assert sorted(status for status, _ in replies) == [201, 409, 409, 409, 409, 409]
    await probe.wait_for(1)
    assert len(await probe.flush()) == 1
