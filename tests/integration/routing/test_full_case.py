"""A case stops taking reports before its document fills: past its budget of bytes for
reports, or when the server refuses a join as too large (16 MB; a case stored before reports
were counted). The reports that did not fit open a case of their own, which later reports of
the content join; the reports beside them in the batch are routed; nothing is lost, and the
log names the case and the reports, not what the reports say."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import bson
import pytest

from services.common.clock import utcnow
from services.common.contracts import ReportSubmitted
from services.common.mongo import MongoDatabase
from services.routing.case import Case
from services.routing.cases import CaseRepository
from services.routing.grouping import CLOSED_TO_REPORTS, successor_id
from services.routing.models import case_view
from services.routing.policy import load_policy
from services.routing.router import Router
from tests.helpers import report_event

pytestmark = pytest.mark.integration

LIMIT = 16 * 1024 * 1024
DESCRIPTION = "Tôi là Trần Thị B, số 0912 345 678: trang này lừa tôi 20 triệu đồng. " * 60


async def first_routed(db: MongoDatabase) -> tuple[Router, ReportSubmitted, dict[str, Any]]:
    """Routing's router over a fresh case store, a page's first report, and the case it
    opened, as stored."""
    repository = CaseRepository(db)
    await repository.ensure_indexes(utcnow())
    router = Router(repository, load_policy(), utcnow, lambda: None)
    first = report_event(1)
    assert await router.on_reports([first]) == [None]
    stored = await db.cases.find_one({"report_id": first.report_id})
    assert stored is not None
    return router, first, stored


async def test_a_full_case_takes_no_more_reports_and_the_next_opens_a_case_of_its_own(
    routing_db: MongoDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    router, first, full = await first_routed(routing_db)
    room = LIMIT - len(bson.encode(full)) - len(DESCRIPTION.encode()) // 2
    await routing_db.cases.update_one({"_id": full["_id"]}, {"$set": {"padding": "x" * room}})

    def of_the_page(n: int, **fields: Any) -> ReportSubmitted:
        return report_event(n, content_urls=first.content_urls, reporter_id=f"r{n}", **fields)

    joining = of_the_page(2, description=DESCRIPTION)
    beside = report_event(3)
    with caplog.at_level(logging.WARNING, logger="services.routing.router"):
        assert await router.on_reports([joining, beside]) == [None, None]
    later = of_the_page(4)
    assert await router.on_reports([later]) == [None]

    stored = await routing_db.cases.find_one({"_id": full["_id"]}, {"padding": 0})
    assert stored is not None
    assert [r["report_id"] for r in stored["reports"]] == [first.report_id]
    assert stored["version"] == full["version"] and stored["joinable"] is False
    assert stored["open_key"] == f"{full['content_key']}#own#{full['_id']}"
    assert stored["audit"][-1]["action"] == CLOSED_TO_REPORTS
    opened = await routing_db.cases.find_one({"report_id": joining.report_id})
    assert opened is not None and opened["open_key"] == full["content_key"]
    assert opened["continues"] == full["_id"] and stored["continued_by"] == opened["_id"]
    assert [r["report_id"] for r in opened["reports"]] == [
        joining.report_id,
        later.report_id,
    ]
    assert await routing_db.cases.find_one({"report_id": beside.report_id}) is not None

    (closed,) = [r for r in caplog.records if r.getMessage().startswith("case full")]
    assert closed.__dict__["case_id"] == full["_id"]
    assert closed.__dict__["report_ids"] == [joining.report_id]
    assert all("0912 345 678" not in str(r.__dict__) for r in caplog.records)


async def test_a_case_past_its_budget_for_reports_is_closed_to_them_before_it_fills(
    routing_db: MongoDatabase,
) -> None:
    router, first, opened = await first_routed(routing_db)
    repository = router.repository
    assert opened["reports_bytes"] > 0
    router.reports_budget = 2 * opened["reports_bytes"] + 100  # room for one more report

    page = first.content_urls
    batch = [report_event(n, content_urls=page, reporter_id=f"r{n}") for n in range(2, 5)]
    assert await router.on_reports(batch) == [None] * 3  # all three would pass the budget
    later = report_event(5, content_urls=page, reporter_id="r5")
    assert await router.on_reports([later]) == [None]  # the second case is past it too

    shown = {"reports.report_id": 1, "audit.action": 1, "continues": 1}
    cases = await routing_db.cases.find({}, shown).to_list()
    held = sorted([r["report_id"] for r in c["reports"]] for c in cases)
    expected = [[first.report_id], [r.report_id for r in batch], [later.report_id]]
    assert held == sorted(expected)
    closed = [c for c in cases if c["audit"][-1]["action"] == CLOSED_TO_REPORTS]
    assert sorted(c["reports"][0]["report_id"] for c in closed) == sorted(
        [first.report_id, batch[0].report_id]
    )
    chain = {c["reports"][0]["report_id"]: c.get("continues") for c in cases}
    by_first = {c["reports"][0]["report_id"]: c["_id"] for c in cases}
    assert chain[first.report_id] is None
    assert chain[batch[0].report_id] == by_first[first.report_id]
    assert chain[later.report_id] == by_first[batch[0].report_id]
    last = await repository.get(by_first[later.report_id])
    assert last is not None
    assert case_view(last, last.agency, utcnow()).continues == by_first[batch[0].report_id]
    first_case = await repository.get(by_first[first.report_id])
    assert first_case is not None
    assert case_view(first_case, first_case.agency, utcnow()).continued_by == last.continues


async def test_a_successor_another_router_never_stored_is_not_shown(
    routing_db: MongoDatabase,
) -> None:
    """Two routers close a full case at once, and the other one's case of the content, under
    another id, took the later reports: the successor named at closing was never stored."""
    router, _, stored = await first_routed(routing_db)
    repository = router.repository
    case = await repository.get(stored["_id"])
    assert case is not None and await repository.close_to_reports(case, utcnow())

    shown = await repository.get(case.case_id)
    assert shown is not None and shown.continued_by is None
    closed = await routing_db.cases.find_one({"_id": case.case_id}, {"continued_by": 1})
    assert closed is not None
    successor = closed["continued_by"]
    await routing_db.cases.insert_one(
        {**stored, "_id": successor, "open_key": "another", "report_id": "x"}
    )
    shown = await repository.get(case.case_id)
    assert shown is not None and shown.continued_by == successor


async def test_when_another_router_opens_the_content_first_the_full_case_and_it_are_linked(
    routing_db: MongoDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A router closes a full case; before it can store the successor, another router, which
    found no open case of the content, opens one under an id of its own. The reports join that
    one, and the full case and it name each other."""
    router, first, full = await first_routed(routing_db)
    router.reports_budget = 100_000
    at_budget = {"$set": {"reports_bytes": router.reports_budget}}  # no room for another report
    await routing_db.cases.update_one({"_id": full["_id"]}, at_budget)
    other_repository = CaseRepository(routing_db)
    other_router = Router(other_repository, load_policy(), utcnow, lambda: None)
    page = first.content_urls
    joining, elsewhere = (report_event(n, content_urls=page, reporter_id=f"r{n}") for n in (2, 3))

    closing = router.repository.close_to_reports

    async def close_while_another_router_opens(case: Case, now: datetime) -> bool:
        closed = await closing(case, now)
        assert await other_router.on_reports([elsewhere]) == [None]
        return closed

    monkeypatch.setattr(router.repository, "close_to_reports", close_while_another_router_opens)
    assert await router.on_reports([joining]) == [None]

    opened = await routing_db.cases.find_one({"report_id": elsewhere.report_id})
    assert opened is not None and opened["_id"] != successor_id(full["_id"])
    assert [r["report_id"] for r in opened["reports"]] == [elsewhere.report_id, joining.report_id]
    assert opened["continues"] == full["_id"]
    assert await routing_db.cases.count_documents({"_id": successor_id(full["_id"])}) == 0
    shown = await router.repository.get(full["_id"])
    assert shown is not None and shown.continued_by == opened["_id"]
