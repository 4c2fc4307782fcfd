"""Reports of the same content join one case: counted per distinct reporter, split and merged by
a supervisor, each change announced; a redelivered joiner changes nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.contracts import (
    CaseAssigned,
    CaseUpdated,
    Category,
    ReporterKind,
    ReportSubmitted,
    parse_event,
)
from services.common.mongo import MongoDatabase
from tests.helpers import get_all, reject_body, wait_until
from tests.integration.routing.conftest import Reporter, auth, report_event

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
CONTENTS = 50
REPORTS_PER_CONTENT = 20
# Reports 0..18 come from 15 people (j % 15), report 19 has no reporter id (counts alone).
DISTINCT_REPORTERS = 16
PUBLISH_CHUNK = 100


def content_forms(c: int) -> list[str]:
    """Ways people write the same piece of content (c picks the platform and the id)."""
    if c % 3 == 0:
        page = f"scam.page.{c}"
        return [
            f"https://m.facebook.com/{page}",
            f"https://www.facebook.com/{page}/?fbclid=IwAR0{c}x",
            f"fb.com/{page}",
            f"https://web.facebook.com/{page.title()}?mibextid=q{c}",
            f"https://mbasic.facebook.com/{page}/",
        ]
    if c % 3 == 1:
        video = f"dQw4w9W{c:04d}"
        return [
            f"https://youtu.be/{video}",
            f"https://www.youtube.com/watch?v={video}&t=10s",
            f"https://m.youtube.com/watch?v={video}&si=abc{c}",
            f"https://www.youtube.com/shorts/{video}",
        ]
    clip = f"73010000000000{c:05d}"
    return [
        f"https://www.tiktok.com/@tin.gia{c}/video/{clip}?is_from_webapp=1",
        f"https://tiktok.com/@tin.gia{c}/video/{clip}",
        f"https://m.tiktok.com/@tin.gia{c}/video/{clip}?_r=1",
    ]


def grouped_reports() -> list[ReportSubmitted]:
    """1,000 reports of 50 contents, interleaved, each content in all of its URL forms."""
    reports = []
    for j in range(REPORTS_PER_CONTENT):
        for c in range(CONTENTS):
            forms = content_forms(c)
            reports.append(
                report_event(
                    j * CONTENTS + c,
                    Category.FALSE_INFORMATION if c % 2 else Category.SCAM_FRAUD,
                    content_urls=[forms[j % len(forms)]],
                    reporter_id=None if j == 19 else f"person-{c}-{j % 15}",
                )
            )
    return reports


async def publish_in_chunks(reporter: Reporter, reports: list[ReportSubmitted]) -> None:
    """Publish concurrently, a chunk at a time (each publish awaits its broker confirm)."""
    for start in range(0, len(reports), PUBLISH_CHUNK):
        chunk = reports[start : start + PUBLISH_CHUNK]
        await asyncio.gather(*(reporter.publisher.publish(r) for r in chunk))


async def reports_held(db: MongoDatabase) -> int:
    """How many report entries the stored cases hold together."""
    total = 0
    async for doc in db.cases.find({}, {"reports.report_id": 1}):
        total += len(doc.get("reports", []))
    return total


async def test_a_thousand_reports_of_fifty_contents_become_fifty_cases_counted_by_reporter(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    reports = grouped_reports()
    started = time.monotonic()
    await publish_in_chunks(reporter, reports)
    published = time.monotonic() - started

    async def all_held() -> bool:
        return await reports_held(routing_db) >= len(reports)

    await wait_until(all_held, timeout=240, interval=0.5, what="1,000 reports in their cases")
    stored = time.monotonic() - started
    cases = await routing_db.cases.find({}, {"outbox": 0}).to_list()
    assert len(cases) == CONTENTS
    assert Counter(len(c["reports"]) for c in cases) == {REPORTS_PER_CONTENT: CONTENTS}
    assert {c["reporters"] for c in cases} == {DISTINCT_REPORTERS}
    ids = [r["report_id"] for c in cases for r in c["reports"]]
    assert sorted(ids) == sorted(r.report_id for r in reports)  # each report once
    assert len({c["content_key"] for c in cases}) == CONTENTS
    # 16 distinct reporters pass the default policy's threshold of 10: every case is high.
    assert {c["priority"] for c in cases} == {"high"}
    raised = [c for c in cases if c["category"] == "false_information"]
    assert raised and all(
        [a["action"] for a in c["audit"]].count("priority_raised") == 1 for c in raised
    )
    print(
        f"\n1,000 reports / 50 contents: published in {published:.1f} s, "
        f"all in their cases after {stored:.1f} s"
    )


async def case_of_report(db: MongoDatabase, report: ReportSubmitted) -> dict[str, Any]:
    """Wait until a case holds the report; return that case."""

    async def holding() -> dict[str, Any] | None:
        return await db.cases.find_one(
            {"reports.report_id": report.report_id, "status": {"$ne": "resolved"}}
        )

    return await wait_until(holding, what=f"a case holding {report.report_id}")


async def events_of(
    connection: AbstractRobustConnection, topology: Topology, agency: str, seen: list[Any]
) -> list[Any]:
    """Every event so far on the agency's queue (drained into `seen`)."""
    for message in await get_all(connection, topology.queue(f"agency.{agency}.cases")):
        seen.append(parse_event(message.body))
    return seen


async def test_a_supervisor_splits_a_wrong_report_off_and_merges_two_cases_with_events(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    page, other = "https://www.facebook.com/fake.bank.1", "https://youtu.be/abcdefghijk"
    first = await reporter.submit(content_urls=[page], reporter_id="p1")
    await case_of_report(routing_db, first)
    wrong = await reporter.submit(
        Category.FALSE_INFORMATION, content_urls=[f"{page}?fbclid=x"], reporter_id="p2"
    )
    third = await reporter.submit(content_urls=["fb.com/fake.bank.1"], reporter_id="p3")
    video = await reporter.submit(content_urls=[other], reporter_id="p1")
    await case_of_report(routing_db, wrong)
    await case_of_report(routing_db, third)
    page_case = await case_of_report(routing_db, first)
    video_case = await case_of_report(routing_db, video)
    assert page_case["reporters"] == 3 and video_case["reporters"] == 1

    case_url = f"/api/v1/cases/{page_case['_id']}"
    refused = await routing.post(
        f"{case_url}/split",
        json={"report_id": wrong.report_id, "reason": "x"},
        headers=auth("police"),
    )
    assert refused.status == 403
    unknown = await routing.post(
        f"{case_url}/split",
        json={"report_id": "no-such", "reason": "x"},
        headers=auth("supervisor"),
    )
    assert unknown.status == 409
    assert (await unknown.json())["error"]["errors"][0]["field"] == "report_id"
    split = await routing.post(
        f"{case_url}/split",
        json={"report_id": wrong.report_id, "reason": "a post about false news, not the scam"},
        headers=auth("supervisor"),
    )
    assert split.status == 200, await split.text()
    body = await split.json()
    assert [r["report_id"] for r in body["case"]["reports"]] == [first.report_id, third.report_id]
    assert body["case"]["reporters"] == 2
    new_case = body["new_case"]
    assert new_case["agency"] == "culture_office" and new_case["reporters"] == 1
    assert [r["report_id"] for r in new_case["reports"]] == [wrong.report_id]

    itself = await routing.post(
        f"/api/v1/cases/{video_case['_id']}/merge",
        json={"into": video_case["_id"], "reason": "x"},
        headers=auth("supervisor"),
    )
    assert itself.status == 409
    assert (await itself.json())["error"]["errors"][0]["field"] == "into"
    merged = await routing.post(
        f"/api/v1/cases/{video_case['_id']}/merge",
        json={"into": page_case["_id"], "reason": "the video advertises the same scam"},
        headers=auth("supervisor"),
    )
    assert merged.status == 200, await merged.text()
    target = await merged.json()
    assert [r["report_id"] for r in target["reports"]] == [
        first.report_id,
        third.report_id,
        video.report_id,
    ]
    assert target["reporters"] == 2  # p1 reported both
    assert target["merged_from"] == [video_case["_id"]]
    source = await (
        await routing.get(f"/api/v1/cases/{video_case['_id']}", headers=auth("supervisor"))
    ).json()
    assert source["status"] == "resolved" and source["outcome"] == "merged"
    assert source["merged_into"] == page_case["_id"]
    assert any(a["action"] == "merged" and a["actor"] == "supervisor" for a in source["audit"])
    again = await routing.post(
        f"/api/v1/cases/{video_case['_id']}/merge",
        json={"into": new_case["case_id"], "reason": "x"},
        headers=auth("supervisor"),
    )
    assert again.status == 409  # a closed case merges no more

    police: list[Any] = []
    culture: list[Any] = []

    async def announced() -> bool:
        await events_of(amqp_connection, topology, "police", police)
        await events_of(amqp_connection, topology, "culture_office", culture)
        return any(isinstance(e, CaseUpdated) and e.action == "merged" for e in police)

    await wait_until(announced, what="the merge announced")
    (assigned,) = [e for e in culture if isinstance(e, CaseAssigned)]
    assert assigned.case_id == new_case["case_id"] and assigned.report_id == wrong.report_id
    updates = {e.action: e for e in police if isinstance(e, CaseUpdated)}
    assert updates["report_split"].case_id == page_case["_id"]
    assert updates["report_split"].reporters == 2
    assert updates["merge"].case_id == page_case["_id"]
    assert updates["merge"].report_ids == [video.report_id]
    assert updates["merged"].case_id == video_case["_id"]
    assert updates["merged"].merged_into == page_case["_id"]
    assert updates["merged"].outcome == "merged"


async def test_a_redelivered_joiner_changes_nothing_even_after_its_case_closed(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    url = "https://www.facebook.com/scam.redelivered"
    first = await reporter.submit(content_urls=[url], reporter_id="p1")
    await case_of_report(routing_db, first)
    joiner = await reporter.submit(
        content_urls=["m.facebook.com/scam.redelivered"],
        reporter_id="p2",
        reporter_kind=ReporterKind.CITIZEN,
    )
    case = await case_of_report(routing_db, joiner)
    for _ in range(3):
        await reporter.publisher.publish(joiner)
    marker = await reporter.submit(content_urls=[url], reporter_id="p3")
    case = await case_of_report(routing_db, marker)
    assert [r["report_id"] for r in case["reports"]] == [
        first.report_id,
        joiner.report_id,
        marker.report_id,
    ]
    assert case["version"] == 3 and case["reporters"] == 3

    rejected = await routing.post(
        f"/api/v1/cases/{case['_id']}/reject",
        json=reject_body("not a scam"),
        headers=auth("police"),
    )
    assert rejected.status == 200
    await reporter.publisher.publish(joiner)  # redelivered after its case closed
    fresh = await reporter.submit(content_urls=[url], reporter_id="p4")  # opens a new case

    async def new_case() -> dict[str, Any] | None:
        return await routing_db.cases.find_one({"report_id": fresh.report_id})

    opened = await wait_until(new_case, what="a new case for the content")
    assert [r["report_id"] for r in opened["reports"]] == [fresh.report_id]
    assert await routing_db.cases.count_documents({"reports.report_id": joiner.report_id}) == 1
    assert await routing_db.cases.count_documents({}) == 2

    seen: list[Any] = []

    async def drained() -> bool:
        await events_of(amqp_connection, topology, "police", seen)
        pending = await routing_db.cases.count_documents({"outbox_since": {"$exists": True}})
        return pending == 0 and len(seen) >= 5

    await wait_until(drained, what="the outbox drained")
    joins = [e for e in seen if isinstance(e, CaseUpdated) and e.action == "report_joined"]
    assert [e.report_ids for e in joins] == [[joiner.report_id], [marker.report_id]]
