"""What grouping costs the database: commands and time per report, for a new content and for a
report joining an open case (measured, and bounded so a regression fails)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from services.common.clock import utcnow
from services.common.contracts import ReportSubmitted
from services.common.mongo import MongoDatabase
from services.routing.cases import CaseRepository
from services.routing.planning import plan_new_case
from services.routing.policy import load_policy
from services.routing.router import Router
from tests.helpers import Commands, counting_database, report_event

pytestmark = pytest.mark.integration

ROUNDS = 40


@pytest.fixture
async def counted(mongo_url: str, db_name: str) -> AsyncIterator[tuple[MongoDatabase, Commands]]:
    async with counting_database(mongo_url, db_name) as counting:
        yield counting


async def measure(
    router: Router, commands: Commands, reports: list[ReportSubmitted]
) -> tuple[Counter[str], float]:
    """Commands and seconds per report, routing each report alone (the uncoalesced worst case)."""
    commands.names.clear()
    started = time.perf_counter()
    for report in reports:
        assert await router.on_reports([report]) == [None]
    seconds = (time.perf_counter() - started) / len(reports)
    return Counter({k: v / len(reports) for k, v in commands.names.items()}), seconds


async def test_a_new_content_costs_one_insert_and_a_join_one_conditional_update(
    counted: tuple[MongoDatabase, Commands],
) -> None:
    db, commands = counted
    repository = CaseRepository(db)
    await repository.ensure_indexes(utcnow())
    router = Router(repository, load_policy(), utcnow, lambda: None)
    new = [report_event(n) for n in range(ROUNDS)]
    joining = [
        report_event(100 + n, content_urls=[new[0].content_urls[0]], reporter_id=f"p{n}")
        for n in range(ROUNDS)
    ]
    opened, opened_s = await measure(router, commands, new)
    joined, joined_s = await measure(router, commands, joining)
    # Per report: two indexed reads (the content's open case, whether a case holds the report)
    # and one write: the insert of a new case, or one conditional update for a join.
    assert opened == {"find": 2, "insert": 1}
    assert joined == {"find": 2, "update": 1}
    case = await db.cases.find_one({"report_id": new[0].report_id})
    assert case is not None and case["reporters"] == ROUNDS + 1
    print(
        f"\nnew content: {opened_s * 1000:.1f} ms/report {dict(opened)}; "
        f"join: {joined_s * 1000:.1f} ms/report {dict(joined)}"
    )


async def test_a_batch_of_joins_costs_about_what_one_join_does(
    counted: tuple[MongoDatabase, Commands],
) -> None:
    db, commands = counted
    repository = CaseRepository(db)
    await repository.ensure_indexes(utcnow())
    router = Router(repository, load_policy(), utcnow, lambda: None)
    contents = [report_event(n) for n in range(10)]
    assert await router.on_reports(contents) == [None] * len(contents)
    batch = [
        report_event(100 + n, content_urls=contents[n % 10].content_urls, reporter_id=f"p{n}")
        for n in range(60)
    ]
    commands.names.clear()
    started = time.perf_counter()
    assert await router.on_reports(batch) == [None] * len(batch)
    seconds = time.perf_counter() - started
    # 60 reports joining 10 cases: two reads and one bulk write of 10 conditional updates.
    assert commands.names == {"find": 2, "update": 1}
    print(f"\n60 joins into 10 cases in one batch: {seconds * 1000:.1f} ms")


async def test_a_case_stored_before_grouping_is_migrated_at_start_and_keeps_its_report(
    counted: tuple[MongoDatabase, Commands],
) -> None:
    db, _ = counted
    report = report_event(1)
    case, _ = plan_new_case(report, load_policy(), utcnow())
    old = case.to_document()
    for name in ("content_key", "reports", "reporter_keys", "reporters", "open_key", "joinable"):
        old.pop(name)
    old.pop("merged_into"), old.pop("merged_from")
    await db.cases.insert_one(old)
    repository = CaseRepository(db)
    await repository.ensure_indexes(utcnow())
    migrated = await db.cases.find_one({"_id": case.case_id})
    assert migrated is not None
    assert migrated["open_key"] == migrated["content_key"] == f"report:{report.report_id}"
    assert [r["report_id"] for r in migrated["reports"]] == [report.report_id]
    router = Router(repository, load_policy(), utcnow, lambda: None)
    same_content = report_event(2, content_urls=report.content_urls)
    assert await router.on_reports([report, same_content]) == [None, None]
    # The old case is held (no second case for its report) and takes no other report.
    assert await db.cases.count_documents({}) == 2
    assert await db.cases.count_documents({"reports.report_id": report.report_id}) == 1
    loaded = await repository.get(case.case_id)
    assert loaded is not None and loaded.reporters == 1 and loaded.version == 1
