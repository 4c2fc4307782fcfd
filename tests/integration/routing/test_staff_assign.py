"""An agency lead assigns a case to one of the agency's officers: the console's form (leads
only), "assigned to me", the audit line naming both, and the API's `assign`."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.contracts import Category
from services.common.mongo import MongoDatabase
from services.routing.accounts import ACCOUNTS
from services.routing.people import Role
from tests.helpers import create_staff_account, sign_in_as, staff_person
from tests.integration.routing.conftest import Reporter, auth, case_of

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]


async def test_a_lead_assigns_a_case_to_an_officer_who_finds_it_assigned_to_them(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    officer = await create_staff_account(
        routing.app[ACCOUNTS], staff_person("officer", "police", name="Lê Thị Bình")
    )
    lead_csrf, lead = await sign_in_as(routing, staff_person(Role.LEAD, "police", name="Trần An"))
    page = await (await routing.get(f"/console/cases/{case['_id']}")).text()
    assert 'id="form-assign"' in page and "Lê Thị Bình" in page
    reply = await routing.post(
        f"/console/cases/{case['_id']}/assign",
        data={"csrf_token": lead_csrf, "officer": officer.account.account_id},
    )
    assert reply.status == 200
    shown = await reply.text()
    assert 'id="case-assignee"' in shown and "Lê Thị Bình" in shown
    stored = await routing_db.cases.find_one({"_id": case["_id"]})
    assert stored is not None and stored["assignee"] == officer.account.account_id
    line = stored["audit"][-1]
    assert line["action"] == "assign_officer" and line["person"] == lead.account.person.audit_name
    assert officer.account.person.audit_name in line["note"]

    officer_csrf, _ = await sign_in_as(routing, staff_person("officer", "police"))
    mine = await (await routing.get("/console/cases?mine=1")).text()
    assert case["tracking_code"] not in mine  # assigned to another officer, not this one
    page = await (await routing.get(f"/console/cases/{case['_id']}")).text()
    assert 'id="form-assign"' not in page
    refused = await routing.post(
        f"/console/cases/{case['_id']}/assign",
        data={"csrf_token": officer_csrf, "officer": officer.account.account_id},
    )
    assert refused.status == 403


async def test_assigned_to_me_lists_only_the_officers_cases(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    mine = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    others = await case_of(
        routing_db,
        await reporter.submit(Category.SCAM_FRAUD, content_urls=["https://facebook.com/khac"]),
    )
    _, officer = await sign_in_as(routing, staff_person("officer", "police"))
    await routing_db.cases.update_one(
        {"_id": mine["_id"]}, {"$set": {"assignee": officer.account.account_id}}
    )
    listing = await (await routing.get("/console/cases?mine=1")).text()
    assert mine["tracking_code"] in listing and others["tracking_code"] not in listing
    everything = await (await routing.get("/console/cases")).text()
    assert mine["tracking_code"] in everything and others["tracking_code"] in everything


async def test_the_api_assigns_a_case_and_refuses_as_elsewhere(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    accounts = routing.app[ACCOUNTS]
    officer = await create_staff_account(accounts, staff_person("officer", "police"))
    culture = await create_staff_account(accounts, staff_person("officer", "culture_office"))
    path = f"/api/v1/cases/{case['_id']}/assign"
    body = {"officer": officer.account.account_id}
    done = await routing.post(path, json=body, headers=auth("police"))
    assert done.status == 200 and (await done.json())["assignee"] == officer.account.account_id
    again = await routing.post(path, json=body, headers=auth("police"))
    assert again.status == 409
    elsewhere = await routing.post(
        path, json={"officer": culture.account.account_id}, headers=auth("police")
    )
    assert elsewhere.status == 409
    assert (await elsewhere.json())["error"]["errors"][0]["field"] == "officer"
    unknown = await routing.post(path, json={"officer": "police/nobody"}, headers=auth("police"))
    assert unknown.status == 409
    # One refusal, whether the account is missing or of another agency: no hint which exists.
    refusals = [(await r.json())["error"]["message"] for r in (elsewhere, unknown)]
    assert refusals[0].replace(culture.account.account_id, "police/nobody") == refusals[1]
    assert (await routing.post(path, json={}, headers=auth("police"))).status == 422
    assert (await routing.post(path, json={"officer": 5}, headers=auth("police"))).status == 422
    not_theirs = await routing.post(path, json=body, headers=auth("culture_office"))
    assert not_theirs.status == 404
    missing = await routing.post(
        "/api/v1/cases/no-such-case/assign", json=body, headers=auth("police")
    )
    assert missing.status == 404
    assert (await routing.post(path, json=body)).status == 401
