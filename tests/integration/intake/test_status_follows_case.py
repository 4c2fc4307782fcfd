"""Intake's status lookup follows the case events routing publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Publisher, Topology
from services.common.contracts import (
    CaseAssigned,
    CaseStatus,
    CaseUpdated,
    Category,
    Priority,
    new_event_id,
)
from services.common.mongo import MongoDatabase
from services.intake.settings import IntakeSettings
from services.intake.status import (
    LINK_PART,
    LINK_PLACE,
    StatusFollower,
    plan_first_links,
    plan_link,
)
from tests.helpers import counting_database, get_all, publish_raw, wait_until
from tests.integration.intake.conftest import valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


def _case_fields(
    report: dict[str, Any], version: int, status: CaseStatus, agency: str
) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "occurred_at": datetime.now(UTC),
        "case_id": f"case-of-{report['_id']}",  # one case per report: events fan out by case
        "report_id": report["_id"],
        "tracking_code": report["tracking_code"],
        "agency": agency,
        "category": Category.SCAM_FRAUD,
        "priority": Priority.HIGH,
        "status": status,
        "version": version,
        "due_at": datetime.now(UTC) + timedelta(hours=24),
    }


def assigned(report: dict[str, Any], version: int = 1, agency: str = "police") -> CaseAssigned:
    return CaseAssigned(
        **_case_fields(report, version, CaseStatus.ASSIGNED, agency),
        policy_version="test",
        rule_id="scam",
    )


def updated(report: dict[str, Any], version: int, status: CaseStatus, action: str) -> CaseUpdated:
    return CaseUpdated(
        **_case_fields(report, version, status, "police"),
        action=action,
        from_status=CaseStatus.ASSIGNED,
        actor="police",
        note="internal: suspect known to us",
    )


async def _report(intake: Client, db: MongoDatabase) -> dict[str, Any]:
    code = (await (await intake.post("/api/v1/reports", json=valid_report())).json())[
        "tracking_code"
    ]
    report = await db.reports.find_one({"tracking_code": code})
    assert report is not None
    return report


async def _status_is(intake: Client, code: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = await (await intake.get(f"/api/v1/reports/{code}?lang=en")).json()
        return body if body["status"] == status else None

    return await wait_until(probe, what=f"status {status}")


async def test_status_lookup_follows_assignment_and_progress_without_internal_notes(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    report = await _report(intake, intake_db)
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(assigned(report))
    body = await _status_is(intake, report["tracking_code"], "assigned")
    assert body["agency"] == "police"
    assert body["agency_name"] == "Police (cyber security unit)"
    await publisher.publish(updated(report, 2, CaseStatus.ACKNOWLEDGED, "acknowledge"))
    await _status_is(intake, report["tracking_code"], "acknowledged")
    await publisher.publish(updated(report, 3, CaseStatus.RESOLVED, "resolve"))
    body = await _status_is(intake, report["tracking_code"], "resolved")
    assert [step["status"] for step in body["history"]] == [
        "received",
        "assigned",
        "acknowledged",
        "resolved",
    ]
    assert "suspect" not in str(body)


async def test_older_or_repeated_case_events_do_not_move_the_status_back(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    report = await _report(intake, intake_db)
    publisher = await Publisher.open(amqp_connection, topology)
    first = assigned(report)
    await publisher.publish(updated(report, 2, CaseStatus.IN_PROGRESS, "start"))
    await _status_is(intake, report["tracking_code"], "in_progress")
    await publisher.publish(first)
    await publisher.publish(first)
    await publisher.publish(updated(report, 3, CaseStatus.RESOLVED, "resolve"))
    body = await _status_is(intake, report["tracking_code"], "resolved")
    assert [step["status"] for step in body["history"]] == ["received", "in_progress", "resolved"]


async def test_reassignment_shows_the_new_agency(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    report = await _report(intake, intake_db)
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(assigned(report))
    await _status_is(intake, report["tracking_code"], "assigned")
    moved_away = updated(report, 2, CaseStatus.ASSIGNED, "reassign")
    await publisher.publish(assigned(report, version=2, agency="culture_office"))
    await publisher.publish(moved_away)

    async def new_agency() -> bool:
        body = await (await intake.get(f"/api/v1/reports/{report['tracking_code']}")).json()
        return bool(body["agency"] == "culture_office")

    await wait_until(new_agency, what="the new agency shown")


async def test_a_poison_case_event_is_dead_lettered(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.exchange.publish(
        publish_raw(b'{"type": "case.assigned"}'), routing_key="case.assigned.police"
    )
    report = await _report(intake, intake_db)
    await publisher.publish(assigned(report))
    await _status_is(intake, report["tracking_code"], "assigned")

    async def dead() -> list[Any]:
        return await get_all(amqp_connection, topology.queue("intake.case-status.dead"))

    await wait_until(dead, what="the poison event dead-lettered")


async def test_a_batch_of_events_for_several_reports_is_applied_in_order(
    intake: Client, intake_db: MongoDatabase
) -> None:
    first, second = await _report(intake, intake_db), await _report(intake, intake_db)
    follower = StatusFollower(intake_db)
    unknown = {"_id": "no-such-report", "tracking_code": "NONE-NONE-NONE"}
    batch: list[CaseAssigned | CaseUpdated] = [
        updated(first, 2, CaseStatus.ACKNOWLEDGED, "acknowledge"),
        assigned(second),
        assigned(first),
        assigned(unknown),
        updated(first, 3, CaseStatus.IN_PROGRESS, "start"),
        assigned(second),  # a redelivery inside the same batch
    ]
    assert await follower.apply_many(batch) == [None] * len(batch)
    stored = {d["_id"]: d async for d in intake_db.reports.find({})}
    assert [h["status"] for h in stored[first["_id"]]["history"]] == [
        "received",
        "assigned",
        "acknowledged",
        "in_progress",
    ]
    assert [h["status"] for h in stored[second["_id"]]["history"]] == ["received", "assigned"]
    assert stored[first["_id"]]["case"]["version"] == 3


async def test_the_events_that_create_cases_are_written_unread_and_a_second_delivery_changes_nothing(
    intake: Client, intake_db: MongoDatabase, intake_settings: IntakeSettings
) -> None:
    reports = [await _report(intake, intake_db) for _ in range(3)]
    agencies = ["police", "culture_office", "party_committee"]
    events = [assigned(report, agency=a) for report, a in zip(reports, agencies, strict=True)]
    url, name = intake_settings.mongo_url, intake_settings.mongo_db
    async with counting_database(url, name) as (db, commands):
        follower = StatusFollower(db)

        assert await follower.apply_many(events) == [None] * len(events)
        assert commands.names == {"insert": 1, "update": 1}  # the states, the links: no read

        commands.names.clear()
        assert await follower.apply_many(events) == [None] * len(events)  # delivered again
        assert commands.names["find"] == 2  # the insert refused, the round read as any other

    stored = {d["_id"]: d async for d in intake_db.reports.find({})}
    for report, agency in zip(reports, agencies, strict=True):
        _linked_once(stored[report["_id"]], f"case-of-{report['_id']}", agency)


def _linked_once(report: dict[str, Any], case_id: str, agency: str) -> None:
    """`report` is linked to `case_id` of `agency`, with one history line for it and nothing
    left of the statement that linked it."""
    assert (report["case"]["case_id"], report["case"]["agency"]) == (case_id, agency)
    assert report["status"] == "assigned"
    assert [h["status"] for h in report["history"]] == ["received", "assigned"]
    assert LINK_PLACE not in report


async def test_more_first_events_than_one_statement_links_are_linked_by_one_command(
    intake: Client, intake_db: MongoDatabase, intake_settings: IntakeSettings
) -> None:
    reports = [await _report(intake, intake_db) for _ in range(LINK_PART + 2)]
    url, name = intake_settings.mongo_url, intake_settings.mongo_db
    async with counting_database(url, name) as (db, commands):
        outcomes = await StatusFollower(db).apply_many([assigned(r) for r in reports])
        assert outcomes == [None] * len(reports)
        assert commands.names == {"insert": 1, "update": 1}
        assert commands.statements["update"] == 2  # 25 reports, then 2

    stored = {d["_id"]: d async for d in intake_db.reports.find({})}
    for report in reports:
        _linked_once(stored[report["_id"]], f"case-of-{report['_id']}", "police")


async def test_a_report_split_off_among_first_events_moves_and_the_others_are_linked_once(
    intake: Client, intake_db: MongoDatabase, intake_settings: IntakeSettings
) -> None:
    moving, *others = [await _report(intake, intake_db) for _ in range(3)]
    follower = StatusFollower(intake_db)
    assert await follower.apply_many([assigned(moving)]) == [None]
    split = assigned(moving, agency="culture_office").model_copy(
        update={"case_id": f"split-of-{moving['_id']}"}
    )  # a split opens a case, at version 1, whose first report is linked to another case
    url, name = intake_settings.mongo_url, intake_settings.mongo_db
    async with counting_database(url, name) as (db, commands):
        outcomes = await StatusFollower(db).apply_many([split, *map(assigned, others)])
        assert outcomes == [None] * 3
        assert commands.names["find"] == 2  # the link refused: the round read as any other

    stored = {d["_id"]: d async for d in intake_db.reports.find({})}
    assert stored[moving["_id"]]["case"]["case_id"] == split.case_id
    assert stored[moving["_id"]]["case"]["agency"] == "culture_office"
    assert [h["status"] for h in stored[moving["_id"]]["history"]] == ["received", "assigned"]
    for report in others:
        _linked_once(stored[report["_id"]], f"case-of-{report['_id']}", "police")


async def test_one_statement_links_each_report_as_its_own_update_would(
    intake_db: MongoDatabase,
) -> None:
    at = datetime.now(UTC)
    received = [{"status": "received", "at": at}]
    reports: dict[str, tuple[dict[str, Any], str]] = {  # held before; the status read
        "fresh": ({"status": "received", "history": received}, "received"),
        "same-status": ({"status": "assigned", "history": received}, "assigned"),
        "no-history": ({"status": "received"}, "received"),  # its line starts one
    }
    decision = {"outcome": "removed", "reason": "$5 'prize': {a: 1}", "decided_at": at}
    links = [
        (
            rid,
            plan_link(
                {"status": status},
                {
                    "case_id": f"case-of-{rid}",
                    "agency": agency,
                    "status": "assigned",
                    "version": 3,
                    "event_type": "case.assigned",
                    "outcome": "removed",
                    "decision": {**decision, "by": {"agency": agency}},
                    "at": at,
                },
                at - timedelta(minutes=1),
            ),
        )
        for (rid, (_, status)), agency in zip(
            reports.items(), ("police", "culture_office", "party_committee"), strict=True
        )
    ]
    for way in ("alone", "together"):
        await intake_db.reports.insert_many(
            [{"_id": f"{way}-{rid}", **doc} for rid, (doc, _) in reports.items()]
        )
    await intake_db.reports.insert_one(
        {"_id": "together-linked", "status": "received", "case": {"case_id": "c", "version": 1}}
    )
    linked = links[0][1]

    alone = [(f"alone-{rid}", update) for rid, update in links]
    await intake_db.reports.bulk_write([w for link in alone for w in plan_first_links([link])])
    together = [(f"together-{rid}", update) for rid, update in [*links, ("linked", linked)]]
    (statement,) = plan_first_links(together)
    result = await intake_db.reports.bulk_write([statement])

    assert result.matched_count == len(reports)  # the report linked already is left alone
    stored = {d["_id"]: d async for d in intake_db.reports.find({})}
    for rid in reports:
        each, grouped = stored[f"alone-{rid}"], stored[f"together-{rid}"]
        assert {**grouped, "_id": each["_id"]} == each, rid
        assert LINK_PLACE not in grouped
    assert [h["status"] for h in stored["together-no-history"]["history"]] == ["assigned"]
    assert [h["status"] for h in stored["together-same-status"]["history"]] == ["received"]
    assert stored["together-linked"]["case"] == {"case_id": "c", "version": 1}
