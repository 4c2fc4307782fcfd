"""The transparency report over HTTP against the real broker and database: the CSV matches the
cases the test created and decided; the public page publishes no small count and no personal
data."""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.clock import utcnow
from services.common.contracts import Category, ReportSubmitted
from services.common.mongo import MongoDatabase
from services.routing.app import create_app
from services.routing.settings import RoutingSettings
from tests.helpers import start_client, wait_until
from tests.integration.routing.conftest import Reporter, auth, case_of

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]
# 10:00 on Tuesday 10 November 2026 in Hà Nội.
START = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
PERIOD = "from=2026-11-10&to=2026-11-11"


class Clock:
    """A clock the test moves: it starts at START and runs on with real time."""

    def __init__(self) -> None:
        self.offset = START - utcnow()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def move(self, by: timedelta) -> None:
        self.offset += by


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def routing_at(routing_settings: RoutingSettings, clock: Clock) -> AsyncIterator[Client]:
    client = await start_client(create_app(routing_settings, clock=clock), what="routing")
    yield client
    await client.close()


async def submit(reporter: Reporter, clock: Clock, category: Category, **fields: Any) -> Any:
    return await reporter.submit(category, occurred_at=clock(), **fields)


async def act(client: Client, case_id: str, action: str, principal: str, **body: Any) -> None:
    reply = await client.post(
        f"/api/v1/cases/{case_id}/{action}", json=body, headers=auth(principal)
    )
    assert reply.status == 200, await reply.text()


def decision(outcome: str, basis: str, **internal: str) -> dict[str, str]:
    return {
        "outcome": outcome,
        "legal_basis": basis,
        "explanation": "Nội dung đã được xử lý theo quy định.",
        **internal,
    }


async def csv_rows(client: Client, principal: str, query: str = PERIOD) -> list[dict[str, str]]:
    reply = await client.get(f"/api/v1/transparency?{query}&format=csv", headers=auth(principal))
    assert reply.status == 200, await reply.text()
    assert reply.headers["Content-Type"].startswith("text/csv; charset=utf-8")
    text = (await reply.read()).decode("utf-8")
    assert text.startswith("period_from,period_to,agency,province_code,category,metric,value\r\n")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def figures(rows: list[dict[str, str]], agency: str = "*", category: str = "*") -> dict[str, str]:
    """The figures of one row of the report (province: all)."""
    return {
        r["metric"]: r["value"]
        for r in rows
        if (r["agency"], r["province_code"], r["category"]) == (agency, "*", category)
    }


async def test_the_csv_matches_the_cases_created_and_decided(
    routing_at: Client, routing_db: MongoDatabase, reporter: Reporter, clock: Clock
) -> None:
    scams = [await submit(reporter, clock, Category.SCAM_FRAUD) for _ in range(3)]
    rumours = [await submit(reporter, clock, Category.FALSE_INFORMATION) for _ in range(2)]
    impersonation = await submit(reporter, clock, Category.IMPERSONATION)
    joining = await submit(reporter, clock, Category.SCAM_FRAUD, content_urls=scams[0].content_urls)
    cases = [await case_of(routing_db, r) for r in [*scams, *rumours, impersonation]]

    async def joined() -> dict[str, Any] | None:
        return await routing_db.cases.find_one({"reports.report_id": joining.report_id})

    assert (await wait_until(joined, what="the join"))["_id"] == cases[0]["_id"]

    clock.move(timedelta(hours=1))
    await act(routing_at, cases[0]["_id"], "acknowledge", "police")
    clock.move(timedelta(hours=2))
    resolve = decision("removed_by_platform", "nd147-2024-removal", note="Đã yêu cầu gỡ")
    await act(routing_at, cases[0]["_id"], "resolve", "police", **resolve)
    reject = decision("no_violation", "khong-vi-pham", reason="Không vi phạm")
    await act(routing_at, cases[3]["_id"], "reject", "culture_office", **reject)

    police = auth("police")
    takedowns = f"/api/v1/cases/{cases[1]['_id']}/takedowns"
    sent = await routing_at.post(
        takedowns, json={"channel": "portal", "asked": "remove"}, headers=police
    )
    assert sent.status == 201, await sent.text()
    request_id = (await sent.json())["takedown"]["request_id"]
    clock.move(timedelta(hours=2))
    answer = {"status": "done"}
    done = await routing_at.post(f"{takedowns}/{request_id}/answer", json=answer, headers=police)
    assert done.status == 200, await done.text()

    rows = await csv_rows(routing_at, "supervisor")
    totals = figures(rows)
    assert totals["takedowns.requests"] == totals["takedowns.done"] == "1"
    assert totals["platform.facebook.complied"] == "1"
    assert totals["platform.facebook.compliance_share"] == "1.0"
    assert float(totals["takedowns.median_takedown_s"]) == pytest.approx(7200, abs=5)
    assert totals["cases"] == "6"
    assert totals["reports_received"] == "7"
    assert totals["reporters"] == "7"  # anonymous to the report: each report its own reporter
    assert totals["decisions"] == "2"
    assert totals["decisions.removed_by_platform"] == "1"
    assert totals["decisions.no_violation"] == "1"
    assert totals["acknowledged"] == "2"  # the first case, and the second by sending a request
    stored = await routing_db.cases.find_one({"_id": cases[0]["_id"]})
    assert stored is not None
    second = await routing_db.cases.find_one({"_id": cases[1]["_id"]})
    assert second is not None
    acknowledge_s = statistics.median(
        (doc["acknowledged_at"] - doc["created_at"]).total_seconds() for doc in (stored, second)
    )
    decide_s = (stored["decision"]["decided_at"] - stored["created_at"]).total_seconds()
    assert float(totals["median_acknowledge_s"]) == pytest.approx(acknowledge_s, abs=0.1)
    assert float(totals["median_decide_s"]) == pytest.approx(decide_s, abs=0.1)
    # Both decided on Tuesday, days before either deadline (working-time and 48 h legal).
    assert (totals["internal.early"], totals["legal.early"]) == ("2", "2")
    assert totals["internal.early_share"] == totals["legal.early_share"] == "1.0"
    assert figures(rows, "police")["cases"] == "4"
    assert figures(rows, "culture_office")["cases"] == "2"
    assert figures(rows, category="scam_fraud")["reports_received"] == "4"
    assert figures(rows, category="impersonation")["cases"] == "1"
    province = stored["report"].get("province_code") or ""
    by_province = [r for r in rows if r["agency"] == "*" and r["category"] == "*"]
    assert {r["province_code"] for r in by_province} == {"*", province}

    police_rows = await csv_rows(routing_at, "police")
    assert {r["agency"] for r in police_rows} == {"*", "police"}
    assert figures(police_rows)["cases"] == "4"
    earlier = await csv_rows(routing_at, "supervisor", "from=2026-11-01&to=2026-11-10")
    assert figures(earlier)["cases"] == "0"

    body = await (
        await routing_at.get(f"/api/v1/transparency?{PERIOD}", headers=auth("supervisor"))
    ).json()
    assert body["totals"]["cases"] == 6
    assert {a["agency"] for a in body["by_agency"]} == {"police", "culture_office"}


async def test_bad_periods_and_missing_credentials_are_refused(routing_at: Client) -> None:
    assert (await routing_at.get(f"/api/v1/transparency?{PERIOD}")).status == 401
    reply = await routing_at.get(
        "/api/v1/transparency?from=2026-02-30&to=2025-01-01&format=xml",
        headers=auth("supervisor"),
    )
    assert reply.status == 422
    fields = [e["field"] for e in (await reply.json())["error"]["errors"]]
    assert fields == ["from", "format"]
    too_long = await routing_at.get(
        "/api/v1/transparency?from=2024-01-01&to=2026-01-01", headers=auth("supervisor")
    )
    assert too_long.status == 422


async def test_the_public_page_shows_no_small_count_and_no_personal_data(
    routing_at: Client, routing_db: MongoDatabase, reporter: Reporter, clock: Clock
) -> None:
    submitted: list[ReportSubmitted] = []
    for _ in range(6):
        submitted.append(await submit(reporter, clock, Category.SCAM_FRAUD))
    submitted.append(await submit(reporter, clock, Category.IMPERSONATION))
    for report in submitted:
        await case_of(routing_db, report)
    clock.move(timedelta(days=25))  # 5 December: November is complete

    reply = await routing_at.get("/transparency.json?month=2026-11")
    assert reply.status == 200
    body = await reply.json()
    cases = body["tables"]["cases"]
    assert cases["total"] == 7
    assert cases["cells"]["impersonation"] == "< 5"
    assert cases["cells"]["scam_fraud"] == "hidden"  # else 7 - 6 gives the impersonation away
    numbers = [v for t in body["tables"].values() for v in [*t["cells"].values(), t["total"]]]
    assert all(v >= 5 for v in numbers if isinstance(v, int))

    page = await routing_at.get("/transparency?month=2026-11")
    assert page.status == 200
    html = await page.text()
    assert 'lang="vi"' in html and "Báo cáo minh bạch" in html
    assert "&lt; 5" in html
    shown = [int(n) for n in re.findall(r"<td>(\d+)</td>", html)]
    assert shown and all(n >= 5 for n in shown)
    for report in submitted:
        assert report.tracking_code not in html
        assert report.report_id not in html
    assert "Trần Thị B" not in html and "0905123456" not in html
    assert "police" not in html and "Công an" not in html
    english = await (await routing_at.get("/transparency?month=2026-11&lang=en")).text()
    assert "Transparency report" in english
    assert (await routing_at.get("/transparency?month=2026-12")).status == 400
    assert (await routing_at.get("/transparency.json?month=2026-12")).status == 422
