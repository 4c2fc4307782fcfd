"""A reporter's contact erased at intake is erased in routing's cases too: every case holding
the report, once per event, with an audit line; an erasure of a report no case holds is acked."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Publisher, Topology
from services.common.contracts import ErasureReason, ReportContactErased, new_event_id
from services.common.mongo import MongoDatabase
from tests.helpers import opened_contact, wait_until
from tests.integration.intake.conftest import valid_report
from tests.integration.routing.conftest import Reporter, auth, case_of

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


def erased(report_id: str, code: str, reason: ErasureReason) -> ReportContactErased:
    now = datetime.now(UTC)
    return ReportContactErased(
        event_id=new_event_id(),
        occurred_at=now,
        report_id=report_id,
        tracking_code=code,
        erased_at=now,
        reason=reason,
    )


async def _submit(intake: Client, name: str, email: str) -> str:
    body = valid_report(contact={"name": name, "email": email})
    reply = await intake.post("/api/v1/reports", json=body)
    assert reply.status == 201, await reply.text()
    return str((await reply.json())["tracking_code"])


async def _case_with_reports(db: MongoDatabase, code: str, count: int) -> dict[str, Any]:
    async def grouped() -> dict[str, Any] | None:
        case = await db.cases.find_one({"reports.tracking_code": code})
        return case if case and len(case["reports"]) == count else None

    return await wait_until(grouped, what=f"a case holding {count} reports")


def _erasures(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for line in case["audit"] if line["action"] == "contact_erased"]


async def test_erasure_by_api_and_by_form_reaches_every_report_of_the_case(
    intake: Client, routing: Client, routing_db: MongoDatabase
) -> None:
    first = await _submit(intake, "Lê Văn C", "le.van.c@example.com")
    await _case_with_reports(routing_db, first, 1)
    second = await _submit(intake, "Phạm Thị D", "pham.thi.d@example.com")
    case = await _case_with_reports(routing_db, first, 2)
    contact = opened_contact(case["report"], case["report_id"])
    assert contact is not None and contact.email == "le.van.c@example.com"

    by_api = await intake.post(f"/api/v1/reports/{first}/erase-contact", json={"confirm": True})
    assert by_api.status == 200
    page = await (await intake.get(f"/status/{second}")).text()
    token = re.search(r'name="csrf_token" value="(\w+)"', page)
    assert token is not None
    by_form = await intake.post(
        f"/status/{second}/erase-contact",
        data={"csrf_token": token.group(1), "confirm": "yes"},
        allow_redirects=False,
    )
    assert by_form.status == 303

    async def forgotten() -> dict[str, Any] | None:
        stored = await routing_db.cases.find_one({"_id": case["_id"]})
        return stored if stored and len(_erasures(stored)) == 2 else None

    after = await wait_until(forgotten, what="both contacts erased in routing's case")
    assert after["report"]["contact_sealed"] is None
    assert [entry["contact_sealed"] for entry in after["reports"]] == [None, None]
    assert after["report"]["description"] == case["report"]["description"]
    lines = _erasures(after)
    assert {line["actor"] for line in lines} == {"reporter"}
    # Two reports' events, published by intake's relay in no set order between reports.
    assert sorted(line["note"].split(":")[0] for line in lines) == sorted([first, second])
    assert after["version"] == case["version"] + 2  # a change planned before cannot restore it
    shown = await routing.get(f"/api/v1/cases/{case['_id']}", headers=auth("police"))
    assert shown.status == 200
    text = await shown.text()
    assert "le.van.c@example.com" not in text and "pham.thi.d@example.com" not in text
    assert (await intake.get(f"/api/v1/reports/{first}")).status == 200


async def test_a_redelivered_erasure_changes_nothing_and_an_unknown_report_is_acked(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    submitted, other = await reporter.submit(), await reporter.submit()
    case, other_case = await case_of(routing_db, submitted), await case_of(routing_db, other)
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(erased("no-such-report", "XXXX-XXXX-XXXX", ErasureReason.RETENTION))
    event = erased(submitted.report_id, submitted.tracking_code, ErasureReason.RETENTION)
    await publisher.publish(event)
    await publisher.publish(event)  # a redelivery
    await publisher.publish(erased(other.report_id, other.tracking_code, ErasureReason.RETENTION))

    async def erased_in(case_id: str) -> dict[str, Any] | None:
        stored = await routing_db.cases.find_one({"_id": case_id})
        return stored if stored and _erasures(stored) else None

    # The unknown report was acked (not retried until dead-lettered): the queue moved on.
    await wait_until(lambda: erased_in(other_case["_id"]), what="the later erasure handled")
    after = await wait_until(lambda: erased_in(case["_id"]), what="the contact erased")
    (line,) = _erasures(after)
    assert line["actor"] == "retention" and line["event_id"] == event.event_id
    assert after["report"]["contact_sealed"] is None
    assert after["reports"][0]["contact_sealed"] is None
    assert after["version"] == case["version"] + 1
    dead = await amqp_dead_count(amqp_connection, topology)
    assert dead == 0


async def amqp_dead_count(connection: AbstractRobustConnection, topology: Topology) -> int:
    """Messages in the erasure queue's dead-letter queue."""
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(
            topology.queue("routing.erasures") + ".dead", passive=True
        )
        return int(queue.declaration_result.message_count or 0)
    finally:
        await channel.close()
