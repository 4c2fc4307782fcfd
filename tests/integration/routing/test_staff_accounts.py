"""Staff sign in as themselves: password and TOTP, lockout, server-side sessions that end on
sign-out, on disabling and when idle, and the audit log naming the person."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.clock import utcnow
from services.common.contracts import Category
from services.common.mongo import MongoDatabase
from services.routing.accounts import ACCOUNTS, Accounts
from services.routing.credentials import MAX_FAILURES
from services.routing.people import Role
from tests.helpers import (
    console_sign_in,
    create_staff_account,
    csrf_of,
    sign_in_as,
    staff_person,
    totp_code,
)
from tests.integration.routing.conftest import Reporter, case_of

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]


def accounts_of(client: Client) -> Accounts:
    return client.app[ACCOUNTS]


def session_cookie(client: Client) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "console_session")


async def replay(client: Client, cookie: str, path: str = "/console/cases") -> int:
    """The status of a request carrying `cookie` alone (the client's jar left aside)."""
    client.session.cookie_jar.clear()
    reply = await client.get(
        path, headers={"Cookie": f"console_session={cookie}"}, allow_redirects=False
    )
    return reply.status


async def test_an_officer_signs_in_with_password_and_code_and_the_audit_log_names_them(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    person = staff_person("officer", "police", name="Nguyễn Văn An")
    csrf, made = await sign_in_as(routing, person)
    page = await (await routing.get(f"/console/cases/{case['_id']}")).text()
    assert 'id="signed-in-as"' in page and "Nguyễn Văn An" in page
    done = await routing.post(
        f"/console/cases/{case['_id']}/acknowledge", data={"csrf_token": csrf, "note": "Nhận"}
    )
    assert done.status == 200
    stored = await routing_db.cases.find_one({"_id": case["_id"]})
    assert stored is not None
    line = stored["audit"][-1]
    assert line["action"] == "acknowledge" and line["actor"] == "police"
    assert line["person"] == f"Nguyễn Văn An ({made.account.account_id})"
    assert f"Nguyễn Văn An ({made.account.account_id})" in await done.text()  # audit table


async def test_a_wrong_code_or_password_is_refused_alike_and_a_code_is_used_once(
    routing: Client,
) -> None:
    made = await create_staff_account(accounts_of(routing), staff_person("officer", "police"))
    login, secret = made.account.login, made.totp_secret
    wrong_password = await console_sign_in(routing, login, secret, password="sai-mật-khẩu-rồi")
    page = await routing.get("/console/login")
    wrong_code = await routing.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(await page.text()),
            "login": login,
            "password": "mật-khẩu-thử-nghiệm-đủ-dài",
            "code": "12345a",
        },
    )
    assert wrong_password.status == wrong_code.status == 401
    message = "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng."
    assert message in await wrong_password.text() and message in await wrong_code.text()
    # The same code twice: computing it again could cross into the next 30-second step, whose
    # code is a new one and rightly accepted.
    code = totp_code(secret)
    assert (await console_sign_in(routing, login, secret, code=code)).status == 303
    routing.session.cookie_jar.clear()
    reused = await console_sign_in(routing, login, secret, code=code)
    assert reused.status == 401 and message in await reused.text()


async def test_repeated_failures_lock_the_account_for_a_while(routing: Client) -> None:
    accounts = accounts_of(routing)
    made = await create_staff_account(accounts, staff_person("lead", "police"))
    login, secret = made.account.login, made.totp_secret
    for _ in range(MAX_FAILURES):
        refused = await console_sign_in(routing, login, secret, password="không-phải-mật-khẩu")
        assert refused.status == 401
    locked = await console_sign_in(routing, login, secret)  # right password and code
    assert locked.status == 401 and "không đúng" in await locked.text()
    stored = await accounts.get(made.account.account_id)
    assert stored is not None and stored.locked_until is not None
    assert stored.locked_until - utcnow() > timedelta(minutes=14)
    await accounts.unlock(made.account.account_id)
    assert (await console_sign_in(routing, login, secret)).status == 303


async def test_sign_out_deletes_the_session_so_a_replayed_cookie_is_refused(
    routing: Client, routing_db: MongoDatabase
) -> None:
    csrf, made = await sign_in_as(routing, staff_person("officer", "culture_office"))
    cookie = session_cookie(routing)
    stored = await routing_db.staff_sessions.find_one({"account_id": made.account.account_id})
    assert stored is not None and stored["_id"] == hashlib.sha256(cookie.encode()).hexdigest()
    assert await replay(routing, cookie) == 200
    routing.session.cookie_jar.update_cookies({"console_session": cookie})
    out = await routing.post("/console/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/console/login"
    assert await replay(routing, cookie) == 303
    assert await routing_db.staff_sessions.count_documents({"_id": stored["_id"]}) == 0


async def test_disabling_an_account_ends_its_session_at_once_and_refuses_sign_in(
    routing: Client,
) -> None:
    accounts = accounts_of(routing)
    _, made = await sign_in_as(routing, staff_person("officer", "police"))
    cookie = session_cookie(routing)
    assert await replay(routing, cookie) == 200
    await accounts.set_disabled(made.account.account_id, True)
    assert await replay(routing, cookie) == 303
    again = await console_sign_in(routing, made.account.login, made.totp_secret)
    assert again.status == 401


async def test_a_session_ends_when_idle_too_long_or_past_its_expiry(
    routing: Client, routing_db: MongoDatabase
) -> None:
    await sign_in_as(routing, staff_person("officer", "police"))
    cookie = session_cookie(routing)
    key = {"_id": hashlib.sha256(cookie.encode()).hexdigest()}
    assert await replay(routing, cookie) == 200
    idle = utcnow() - timedelta(minutes=31)  # ROUTING_SESSION_IDLE_MINUTES: 30
    await routing_db.staff_sessions.update_one(key, {"$set": {"last_seen_at": idle}})
    assert await replay(routing, cookie) == 303
    await sign_in_as(routing, staff_person("officer", "police"))
    cookie = session_cookie(routing)
    key = {"_id": hashlib.sha256(cookie.encode()).hexdigest()}
    await routing_db.staff_sessions.update_one(key, {"$set": {"expires_at": utcnow()}})
    assert await replay(routing, cookie) == 303


async def test_an_auditor_reads_cases_without_contact_and_every_action_is_403(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    csrf, _ = await sign_in_as(routing, staff_person(Role.AUDITOR))
    page = await (await routing.get(f"/console/cases/{case['_id']}")).text()
    assert case["tracking_code"] in page and 'id="read-only-role"' in page
    assert "data-reveal=" not in page and "Trần Thị B" not in page and 'id="form-' not in page
    base = f"/console/cases/{case['_id']}"
    for path, form in [
        ("/acknowledge", {"note": "x"}),
        ("/notes", {"note": "x"}),
        ("/reassign", {"agency": "culture_office", "reason": "x"}),
        ("/takedowns", {"platform": "facebook", "channel": "portal", "asked": "remove_content"}),
        ("/merge", {"into": "x", "reason": "x"}),
        ("/assign", {"officer": "police/x"}),
        ("/contact", {"report_id": case["report_id"]}),
    ]:
        reply = await routing.post(base + path, data={"csrf_token": csrf, **form})
        assert reply.status == 403, path
    stored = await routing_db.cases.find_one({"_id": case["_id"]})
    assert stored is not None and stored["version"] == case["version"]


async def test_a_supervisors_scope_hides_cases_outside_it(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    police = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    culture = await case_of(routing_db, await reporter.submit(Category.FALSE_INFORMATION))
    scoped = staff_person(Role.SUPERVISOR, scope_agencies=["culture_office"])
    csrf, _ = await sign_in_as(routing, scoped)
    listing = await (await routing.get("/console/cases")).text()
    assert culture["tracking_code"] in listing and police["tracking_code"] not in listing
    assert (await routing.get(f"/console/cases/{police['_id']}")).status == 404
    assert (await routing.get(f"/console/cases/{culture['_id']}")).status == 200
    note = {"csrf_token": csrf, "note": "Ghi chú"}
    assert (await routing.post(f"/console/cases/{police['_id']}/notes", data=note)).status == 404
    elsewhere = staff_person(Role.SUPERVISOR, scope_provinces=["01"])  # Hà Nội, not Đà Nẵng
    await sign_in_as(routing, elsewhere)
    listing = await (await routing.get("/console/cases")).text()
    assert culture["tracking_code"] not in listing and police["tracking_code"] not in listing
