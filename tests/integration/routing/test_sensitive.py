"""A `member_misconduct` case through the real service: the party committee and supervisors see
it; the police never do (404, not listed, not in the console), even if it is stored as theirs;
reassigning it elsewhere is refused (409 naming `agency`); reports of one URL group apart by
sensitivity; other agencies' statistics carry it at the category level only."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.contracts import Category
from services.common.migrations import MIGRATIONS
from services.common.mongo import MongoDatabase
from services.routing.settings import RoutingSettings
from services.routing.transparency import LOCAL
from tests.helpers import sign_in, wait_until
from tests.integration.routing.conftest import Reporter, auth, case_of, start_routing

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
MISCONDUCT = Category.MEMBER_MISCONDUCT


async def listed(client: Client, principal: str, **params: str) -> list[str]:
    reply = await client.get("/api/v1/cases", params=params, headers=auth(principal))
    assert reply.status == 200, await reply.text()
    return [c["case_id"] for c in (await reply.json())["cases"]]


async def detail_status(client: Client, case_id: str, principal: str) -> int:
    return (await client.get(f"/api/v1/cases/{case_id}", headers=auth(principal))).status


async def test_a_misconduct_case_is_seen_by_the_party_committee_and_supervisors_only(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = str((await case_of(routing_db, await reporter.submit(MISCONDUCT)))["_id"])

    assert await detail_status(routing, case_id, "party_committee") == 200
    assert await detail_status(routing, case_id, "supervisor") == 200
    assert case_id in await listed(routing, "party_committee")
    assert case_id in await listed(routing, "supervisor")
    for agency in ("police", "culture_office"):
        assert await detail_status(routing, case_id, agency) == 404
        assert case_id not in await listed(routing, agency)
        assert case_id not in await listed(routing, agency, category=MISCONDUCT.value)
        takedowns = await routing.get(f"/api/v1/cases/{case_id}/takedowns", headers=auth(agency))
        assert takedowns.status == 404
        acted = await routing.post(f"/api/v1/cases/{case_id}/acknowledge", headers=auth(agency))
        assert acted.status == 404

    refused = await routing.post(
        f"/api/v1/cases/{case_id}/reassign",
        json={"agency": "police", "reason": "thử chuyển"},
        headers=auth("supervisor"),
    )
    assert refused.status == 409
    error = (await refused.json())["error"]
    assert error["message"].startswith("sensitive: ")
    assert [e["field"] for e in error["errors"]] == ["agency"]
    stored = await routing_db.cases.find_one({"_id": case_id})
    assert stored is not None and stored["agency"] == "party_committee" and stored["version"] == 1
    assert await detail_status(routing, case_id, "police") == 404
    assert case_id not in await listed(routing, "police")


async def test_a_misconduct_case_stored_as_another_agencys_stays_hidden_from_it(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    """Defence in depth: a case reassigned to the police before this rule (or by hand in the
    database) is still invisible to them, in the API, the console and the statistics."""
    case_id = str((await case_of(routing_db, await reporter.submit(MISCONDUCT)))["_id"])
    police_case = str((await case_of(routing_db, await reporter.submit()))["_id"])
    await routing_db.cases.update_one(
        {"_id": case_id}, {"$set": {"agency": "police", "readers": ["police"]}}
    )
    assert await detail_status(routing, case_id, "police") == 404
    police_list = await listed(routing, "police")
    assert police_case in police_list and case_id not in police_list
    assert await detail_status(routing, case_id, "supervisor") == 200

    await sign_in(routing, "police")
    page = await routing.get(f"/console/cases/{case_id}")
    assert page.status == 404
    console_list = await (await routing.get("/console/cases")).text()
    assert police_case in console_list and case_id not in console_list

    rows = await csv_rows(routing, "police")
    sensitive = [r for r in rows if r["category"] == MISCONDUCT.value]
    assert sensitive, "the category-level row is there"
    assert all((r["agency"], r["province_code"]) == ("*", "*") for r in sensitive)
    assert figure(rows, MISCONDUCT.value, "cases") == "1"
    assert figure(rows, "*", "cases") == "2"  # the totals count it
    # No agency or province figure includes it: the police row and the province row count
    # the scam case alone.
    police_row = [r for r in rows if (r["agency"], r["category"]) == ("police", "*")]
    assert {r["value"] for r in police_row if r["metric"] == "cases"} == {"1"}
    provinces = [r for r in rows if r["agency"] == "*" and r["province_code"] != "*"]
    assert {r["value"] for r in provinces if r["metric"] == "cases" and r["category"] == "*"} == {
        "1"
    }

    supervisor_rows = await csv_rows(routing, "supervisor")
    assert any(
        r["category"] == MISCONDUCT.value and r["agency"] == "police" for r in supervisor_rows
    )


async def test_the_party_committees_statistics_break_its_misconduct_cases_down(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    await case_of(routing_db, await reporter.submit(MISCONDUCT))
    rows = await csv_rows(routing, "party_committee")
    assert any(
        (r["agency"], r["category"]) == ("party_committee", MISCONDUCT.value)
        and r["province_code"] != "*"
        for r in rows
    )


async def test_the_supervisor_console_refuses_to_reassign_a_misconduct_case_elsewhere(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = str((await case_of(routing_db, await reporter.submit(MISCONDUCT)))["_id"])
    csrf = await sign_in(routing, "supervisor")
    page = await (await routing.get(f"/console/cases/{case_id}")).text()
    options = re.findall(r'<option value="([a-z_]+)"', _reassign_form(page))
    assert "police" not in options and "culture_office" not in options
    refused = await routing.post(
        f"/console/cases/{case_id}/reassign",
        data={"csrf_token": csrf, "agency": "police", "reason": "thử chuyển"},
    )
    assert refused.status == 422
    assert 'id="reassign-agency-error"' in await refused.text()
    stored = await routing_db.cases.find_one({"_id": case_id})
    assert stored is not None and stored["agency"] == "party_committee"


async def test_reports_of_one_url_group_apart_by_sensitivity(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    url: dict[str, Any] = {"content_urls": ["https://www.facebook.com/one.page.sensitive"]}
    scam = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD, **url))
    misconduct = await case_of(routing_db, await reporter.submit(MISCONDUCT, **url))
    assert misconduct["_id"] != scam["_id"]
    assert (scam["agency"], misconduct["agency"]) == ("police", "party_committee")
    assert misconduct["content_key"] == scam["content_key"]
    later_scam = await reporter.submit(Category.SCAM_FRAUD, **url)
    later_misconduct = await reporter.submit(MISCONDUCT, **url)
    for case, report in ((scam, later_scam), (misconduct, later_misconduct)):

        async def joined(case: Any = case, report: Any = report) -> bool:
            stored = await routing_db.cases.find_one({"_id": case["_id"]})
            assert stored is not None
            return report.report_id in [r["report_id"] for r in stored["reports"]]

        await wait_until(joined, what=f"{report.report_id} in case {case['_id']}")


async def test_open_misconduct_cases_stored_before_get_their_own_key_at_start(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    routing_settings: RoutingSettings,
) -> None:
    case = await case_of(routing_db, await reporter.submit(MISCONDUCT))
    assert case["open_key"] == f"{case['content_key']}#sensitive"
    # As stored before (and a database from before: no clean pass of the migration recorded).
    await routing_db.cases.update_one(
        {"_id": case["_id"]}, {"$set": {"open_key": case["content_key"]}}
    )
    await routing_db[MIGRATIONS].delete_one({"_id": "cases.sensitive-open-keys"})
    restarted = await start_routing(routing_settings)
    try:
        stored = await routing_db.cases.find_one({"_id": case["_id"]})
        assert stored is not None and stored["open_key"] == f"{case['content_key']}#sensitive"
    finally:
        await restarted.close()


def _reassign_form(page: str) -> str:
    match = re.search(r'<select id="reassign-agency".*?</select>', page, re.S)
    return match.group(0) if match else ""


async def csv_rows(client: Client, principal: str) -> list[dict[str, str]]:
    today = datetime.now(UTC).astimezone(LOCAL).date()
    period = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    reply = await client.get(
        "/api/v1/transparency", params={**period, "format": "csv"}, headers=auth(principal)
    )
    assert reply.status == 200, await reply.text()
    return list(csv.DictReader(io.StringIO(await reply.text())))


def figure(rows: list[dict[str, str]], category: str, metric: str) -> str:
    (value,) = [
        r["value"]
        for r in rows
        if (r["agency"], r["province_code"], r["category"], r["metric"])
        == ("*", "*", category, metric)
    ]
    return value
