"""The console over HTTP (no browser): sign-in, sessions, CSRF, pages, actions, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.contracts import Category
from services.common.mongo import MongoDatabase
from services.routing.accounts import ACCOUNTS
from tests.helpers import (
    STAFF_PASSWORD,
    console_sign_in,
    create_staff_account,
    resolve_body,
    sign_in,
    staff_person,
)
from tests.integration.routing.conftest import Reporter, case_of

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]


async def test_pages_need_a_session_and_a_valid_sign_in(routing: Client) -> None:
    reply = await routing.get("/console/cases", allow_redirects=False)
    assert reply.status == 303
    assert reply.headers["Location"].startswith("/console/login?next=")
    page = await (await routing.get("/console/login")).text()
    assert 'lang="vi"' in page and "Mật khẩu" in page and 'name="token"' not in page
    made = await create_staff_account(routing.app[ACCOUNTS], staff_person("officer", "police"))
    bad = await console_sign_in(routing, made.account.login, made.totp_secret, password="x" * 12)
    assert bad.status == 401 and "không đúng" in await bad.text()
    form = {"login": made.account.login, "password": STAFF_PASSWORD, "code": "000000"}
    no_csrf = await routing.post("/console/login", data=form)
    assert no_csrf.status == 401
    assert "console_session" not in {c.key for c in routing.session.cookie_jar}


async def test_session_cookie_is_http_only_and_strict(routing: Client) -> None:
    made = await create_staff_account(routing.app[ACCOUNTS], staff_person("officer", "police"))
    reply = await console_sign_in(routing, made.account.login, made.totp_secret)
    assert reply.status == 303 and reply.headers["Location"] == "/console/cases"
    cookie = reply.cookies["console_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/console"
    assert len(cookie.value) >= 43  # secrets.token_urlsafe(32)


async def test_agency_sees_its_cases_acts_on_them_and_never_another_agencys(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    police_report = await reporter.submit(Category.SCAM_FRAUD)
    culture_report = await reporter.submit(Category.FALSE_INFORMATION)
    police_case = await case_of(routing_db, police_report)
    culture_case = await case_of(routing_db, culture_report)
    csrf = await sign_in(routing, "police")

    listing = await (await routing.get("/console/cases")).text()
    assert police_case["tracking_code"] in listing
    assert culture_case["tracking_code"] not in listing
    assert (await routing.get(f"/console/cases/{culture_case['_id']}")).status == 404

    page = await (await routing.get(f"/console/cases/{police_case['_id']}")).text()
    assert "data-reveal=" in page  # the holding agency may open the contact
    assert 'rel="noopener noreferrer nofollow"' in page
    forged = await routing.post(
        f"/console/cases/{police_case['_id']}/acknowledge", data={"csrf_token": "0" * 64}
    )
    assert forged.status == 403
    done = await routing.post(
        f"/console/cases/{police_case['_id']}/acknowledge",
        data={"csrf_token": csrf, "note": "Đã tiếp nhận"},
    )
    assert done.status == 200 and "Đã thực hiện" in await done.text()
    incomplete = await routing.post(
        f"/console/cases/{police_case['_id']}/resolve", data={"csrf_token": csrf}
    )
    assert incomplete.status == 422
    resolved = await routing.post(
        f"/console/cases/{police_case['_id']}/resolve",
        data={"csrf_token": csrf, **resolve_body("Đã gỡ trang")},
    )
    assert resolved.status == 200
    stored = await routing_db.cases.find_one({"_id": police_case["_id"]})
    assert stored is not None and stored["status"] == "resolved"
    again = await routing.post(
        f"/console/cases/{police_case['_id']}/acknowledge", data={"csrf_token": csrf}
    )
    assert again.status == 409


async def test_supervisor_overview_assigns_triage_and_shows_the_dashboard(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    await routing_db.cases.create_index("tracking_code")
    report = await reporter.submit(Category.SCAM_FRAUD)
    case = await case_of(routing_db, report)
    await routing_db.cases.update_one(
        {"_id": case["_id"]}, {"$set": {"status": "triage", "agency": "triage"}}
    )
    csrf = await sign_in(routing, "supervisor")
    overview = await (await routing.get("/console/overview?lang=en")).text()
    assert "Triage queue (1)" in overview and case["tracking_code"] in overview
    assert "<svg" in overview and 'role="img"' in overview
    assert 'id="fig-total">1<' in overview
    reply = await routing.post(
        f"/console/cases/{case['_id']}/reassign?back=overview",
        data={"csrf_token": csrf, "agency": "police", "reason": "Lừa đảo: công an xử lý"},
    )
    assert reply.status == 200 and "Triage queue (0)" in await reply.text()
    stored = await routing_db.cases.find_one({"_id": case["_id"]})
    assert stored is not None and (stored["agency"], stored["status"]) == ("police", "assigned")


async def test_agency_cannot_open_the_supervisor_overview(routing: Client) -> None:
    await sign_in(routing, "culture_office")
    reply = await routing.get("/console/overview", allow_redirects=False)
    assert reply.status == 303 and reply.headers["Location"] == "/console/cases"


async def test_sign_out_ends_the_session(routing: Client) -> None:
    csrf = await sign_in(routing, "party_committee")
    await routing.post("/console/logout", data={"csrf_token": csrf})
    reply = await routing.get("/console/cases", allow_redirects=False)
    assert reply.status == 303
