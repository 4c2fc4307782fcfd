"""A reporter whose report joined another's case follows that case: its status moves with the
case's events, a split moves it to its new case, a merge to the case it joined. A join shows the
reporters already linked nothing new and leaves their reports as they were; a state change
whose fan-out was cut short reaches them when its event comes again."""

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
from services.common.outbox import OUTBOX, OUTBOX_SINCE
from services.intake.settings import IntakeSettings
from services.intake.status import LINK_PLACE, StatusFollower, case_state
from tests.helpers import counting_database
from tests.integration.intake.test_status_follows_case import _report, _status_is

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
START = datetime.now(UTC)


def fields(
    case_id: str, first: dict[str, Any], version: int, status: CaseStatus, minute: int
) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "occurred_at": START + timedelta(minutes=minute),
        "case_id": case_id,
        "report_id": first["_id"],
        "tracking_code": first["tracking_code"],
        "agency": "police",
        "category": Category.SCAM_FRAUD,
        "priority": Priority.HIGH,
        "status": status,
        "version": version,
        "due_at": None,
    }


def without_outbox(report: dict[str, Any] | None) -> dict[str, Any]:
    """A stored report without the fields the outbox relay owns."""
    assert report is not None
    return {k: v for k, v in report.items() if k not in (OUTBOX, OUTBOX_SINCE)}


def assigned(case_id: str, first: dict[str, Any], minute: int) -> CaseAssigned:
    return CaseAssigned(
        **fields(case_id, first, 1, CaseStatus.ASSIGNED, minute),
        policy_version="t",
        rule_id="scam",
    )


def updated(
    case_id: str,
    first: dict[str, Any],
    version: int,
    status: CaseStatus,
    minute: int,
    action: str,
    **extra: Any,
) -> CaseUpdated:
    return CaseUpdated(
        **fields(case_id, first, version, status, minute),
        action=action,
        from_status=CaseStatus.ASSIGNED,
        actor="routing",
        **extra,
    )


async def test_a_joined_reporter_follows_the_case_then_its_split_then_its_merge(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    first, joiner = await _report(intake, intake_db), await _report(intake, intake_db)
    publisher = await Publisher.open(amqp_connection, topology)
    a = ("case-a", first)
    await publisher.publish(assigned(*a, minute=0))
    await publisher.publish(
        updated(*a, 2, CaseStatus.ASSIGNED, 1, "report_joined", report_ids=[joiner["_id"]])
    )
    body = await _status_is(intake, joiner["tracking_code"], "assigned")
    assert body["agency"] == "police"
    await publisher.publish(updated(*a, 3, CaseStatus.ACKNOWLEDGED, 2, "acknowledge"))
    await _status_is(intake, joiner["tracking_code"], "acknowledged")
    await _status_is(intake, first["tracking_code"], "acknowledged")

    # Split off into case B (its own first report), then B's events move it alone.
    await publisher.publish(updated(*a, 4, CaseStatus.ACKNOWLEDGED, 3, "report_split"))
    await publisher.publish(assigned("case-b", joiner, minute=3))
    await _status_is(intake, joiner["tracking_code"], "assigned")
    await publisher.publish(updated(*a, 5, CaseStatus.IN_PROGRESS, 4, "start"))
    await _status_is(intake, first["tracking_code"], "in_progress")
    stored = await intake_db.reports.find_one({"_id": joiner["_id"]})
    assert stored is not None and stored["case"]["case_id"] == "case-b"
    assert stored["status"] == "assigned"

    # B merged into A: the joiner follows A again; B's close does not show as "resolved".
    await publisher.publish(
        updated(
            "case-b",
            joiner,
            2,
            CaseStatus.RESOLVED,
            5,
            "merged",
            merged_into="case-a",
            outcome="merged",
        )
    )
    await publisher.publish(
        updated(*a, 6, CaseStatus.IN_PROGRESS, 5, "merge", report_ids=[joiner["_id"]])
    )
    body = await _status_is(intake, joiner["tracking_code"], "in_progress")
    await publisher.publish(updated(*a, 7, CaseStatus.RESOLVED, 6, "resolve", outcome="removed"))
    body = await _status_is(intake, joiner["tracking_code"], "resolved")
    assert [step["status"] for step in body["history"]] == [
        "received",
        "assigned",
        "acknowledged",
        "assigned",
        "in_progress",
        "resolved",
    ]
    await _status_is(intake, first["tracking_code"], "resolved")
    stored = await intake_db.reports.find_one({"_id": joiner["_id"]})
    assert stored is not None
    assert stored["case"]["case_id"] == "case-a" and stored["case"]["outcome"] == "removed"


async def test_a_join_writes_only_the_joining_report_and_a_status_change_reaches_all(
    intake: Client, intake_db: MongoDatabase
) -> None:
    first, second, third = [await _report(intake, intake_db) for _ in range(3)]
    follower = StatusFollower(intake_db)
    a = ("case-joins", first)
    await follower.apply(assigned(*a, minute=0))
    before = await intake_db.reports.find_one({"_id": first["_id"]})
    for version, joiner in ((2, second), (3, third)):
        joined = [joiner["_id"]]
        await follower.apply(
            updated(*a, version, CaseStatus.ASSIGNED, version, "report_joined", report_ids=joined)
        )

    stored = {d["_id"]: d async for d in intake_db.reports.find({})}
    # Not rewritten by either join; the relay, running beside, may meanwhile clear its outbox.
    assert without_outbox(stored[first["_id"]]) == without_outbox(before)
    assert stored[second["_id"]]["case"]["version"] == 2  # not rewritten by the third's join
    assert stored[third["_id"]]["case"]["version"] == 3
    assert {stored[r["_id"]]["status"] for r in (first, second, third)} == {"assigned"}

    await follower.apply(updated(*a, 4, CaseStatus.ACKNOWLEDGED, 4, "acknowledge"))
    stored = {d["_id"]: d async for d in intake_db.reports.find({})}
    for report in (first, second, third):
        assert stored[report["_id"]]["case"]["version"] == 4
        assert [h["status"] for h in stored[report["_id"]]["history"]] == [
            "received",
            "assigned",
            "acknowledged",
        ]


async def test_an_event_delivered_again_finishes_a_fan_out_cut_short(
    intake: Client, intake_db: MongoDatabase
) -> None:
    first, joiner = await _report(intake, intake_db), await _report(intake, intake_db)
    follower = StatusFollower(intake_db)
    a = ("case-cut", first)
    await follower.apply(assigned(*a, minute=0))
    join = updated(*a, 2, CaseStatus.ASSIGNED, 1, "report_joined", report_ids=[joiner["_id"]])
    await follower.apply(join)
    resolve = updated(*a, 3, CaseStatus.RESOLVED, 2, "resolve", outcome="removed")
    # The follower stored the resolved state, then stopped before its fan-out.
    known = await intake_db.case_states.find_one({"_id": "case-cut"})
    await intake_db.case_states.replace_one({"_id": "case-cut"}, case_state(resolve, known))

    await follower.apply(resolve)  # delivered again

    async for stored in intake_db.reports.find({"_id": {"$in": [first["_id"], joiner["_id"]]}}):
        assert stored["status"] == "resolved"
        assert stored["case"]["outcome"] == "removed"


async def test_a_batch_of_many_joins_of_one_case_is_applied_whole(
    intake: Client, intake_db: MongoDatabase
) -> None:
    reports = [await _report(intake, intake_db) for _ in range(30)]
    first = reports[0]
    batch: list[CaseAssigned | CaseUpdated] = [assigned("case-many", first, minute=0)]
    batch += [
        updated(
            "case-many",
            first,
            n + 1,
            CaseStatus.ASSIGNED,
            n,
            "report_joined",
            report_ids=[r["_id"]],
        )
        for n, r in enumerate(reports[1:], start=1)
    ]
    follower = StatusFollower(intake_db, max_rounds=2)  # a round per event, no race to lose

    assert await follower.apply_many(batch) == [None] * len(batch)
    ids = [r["_id"] for r in reports]
    linked = await intake_db.reports.count_documents(
        {"_id": {"$in": ids}, "case.case_id": "case-many", "status": "assigned"}
    )
    assert linked == len(reports)


async def test_reports_joining_several_cases_in_one_batch_are_linked_by_one_statement(
    intake: Client, intake_db: MongoDatabase, intake_settings: IntakeSettings
) -> None:
    firsts = [await _report(intake, intake_db) for _ in range(3)]
    joiners = [await _report(intake, intake_db) for _ in range(3)]
    cases = [(f"case-{n}", first) for n, first in enumerate(firsts)]
    follower = StatusFollower(intake_db)
    assert await follower.apply_many([assigned(*c, minute=0) for c in cases]) == [None] * 3
    joins = [
        updated(*c, 2, CaseStatus.ASSIGNED, 1, "report_joined", report_ids=[joiner["_id"]])
        for c, joiner in zip(cases, joiners, strict=True)
    ]
    url, name = intake_settings.mongo_url, intake_settings.mongo_db
    async with counting_database(url, name) as (db, commands):
        assert await StatusFollower(db).apply_many(joins) == [None] * 3
        # A join shows nothing new to the reports linked before: only the joiners are written.
        # Two updates: the three cases' states, a statement each; the three links, one.
        assert (commands.names["update"], commands.statements["update"]) == (2, 4)

    for (case_id, _), joiner in zip(cases, joiners, strict=True):
        stored = await intake_db.reports.find_one({"_id": joiner["_id"]})
        assert stored is not None and LINK_PLACE not in stored
        assert (stored["case"]["case_id"], stored["case"]["version"]) == (case_id, 2)
        assert [h["status"] for h in stored["history"]] == ["received", "assigned"]


async def test_a_report_moving_and_reports_joining_are_linked_in_one_round_of_reads(
    intake: Client, intake_db: MongoDatabase, intake_settings: IntakeSettings
) -> None:
    first, second, moving, *joiners = [await _report(intake, intake_db) for _ in range(5)]
    cases = [("case-1", first), ("case-2", second), ("case-m", moving)]
    follower = StatusFollower(intake_db)
    assert await follower.apply_many([assigned(*c, minute=0) for c in cases]) == [None] * 3
    batch: list[CaseAssigned | CaseUpdated] = [
        *(
            updated(*c, 2, CaseStatus.ASSIGNED, 1, "report_joined", report_ids=[joiner["_id"]])
            for c, joiner in zip(cases[:2], joiners, strict=True)
        ),
        assigned("case-split", moving, minute=2),  # a split: its first report has a case
    ]
    url, name = intake_settings.mongo_url, intake_settings.mongo_db
    async with counting_database(url, name) as (db, commands):
        assert await StatusFollower(db).apply_many(batch) == [None] * 3
        # The split's link without a read is refused; the round planned again reads the
        # states and the reports once, and its one write links all three.
        assert commands.names["find"] == 3

    stored = {d["_id"]: d async for d in intake_db.reports.find({})}
    assert stored[moving["_id"]]["case"]["case_id"] == "case-split"
    for (case_id, _), joiner in zip(cases[:2], joiners, strict=True):
        assert (
            stored[joiner["_id"]]["case"]["case_id"],
            stored[joiner["_id"]]["case"]["version"],
        ) == (case_id, 2)
