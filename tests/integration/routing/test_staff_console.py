"""The console by role beyond cases: an administrator's accounts page (disabling ends the
sessions at once), a lead's figures of their own agency, a scoped supervisor's of their scope,
and the local run's demo accounts."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.contracts import Category
from services.common.mongo import MongoDatabase
from services.common.processes import ROOT
from services.routing.accounts import ACCOUNTS
from services.routing.people import Role
from services.routing.settings import RoutingSettings
from tests.helpers import console_sign_in, create_staff_account, sign_in_as, staff_person
from tests.integration.routing.conftest import Reporter, case_of

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]


def demo_module() -> Any:
    """scripts/demo/accounts.py, as the launcher runs it (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "demo_accounts", ROOT / "scripts/demo/accounts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cookie_of(client: Client) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "console_session")


async def status_with(client: Client, cookie: str, path: str) -> int:
    """The status of GET `path` with this session cookie only."""
    client.session.cookie_jar.clear()
    headers = {"Cookie": f"console_session={cookie}"}
    return (await client.get(path, headers=headers, allow_redirects=False)).status


async def test_an_administrator_disables_an_account_and_its_session_ends_at_once(
    routing: Client,
) -> None:
    _, officer = await sign_in_as(routing, staff_person("officer", "police", name="Vũ Minh"))
    officer_cookie = cookie_of(routing)
    assert await status_with(routing, officer_cookie, "/console/cases") == 200
    assert await status_with(routing, officer_cookie, "/console/accounts") == 403
    csrf, admin = await sign_in_as(routing, staff_person(Role.ADMIN))
    assert (await routing.get("/console/cases")).status == 403  # an administrator sees no case
    for path in ("/console/overview", "/console/transparency", "/console/cases/x"):
        assert (await routing.get(path)).status < 500, path
    root = await routing.get("/console", allow_redirects=False)
    assert root.headers["Location"] == "/console/accounts"
    page = await (await routing.get("/console/accounts")).text()
    assert "Vũ Minh" in page and officer.account.login in page
    form = {"csrf_token": csrf, "account": officer.account.account_id}
    disabled = await routing.post("/console/accounts/disable", data=form, allow_redirects=False)
    assert disabled.status == 303
    admin_cookie = cookie_of(routing)
    assert await status_with(routing, officer_cookie, "/console/cases") == 303
    routing.session.cookie_jar.update_cookies({"console_session": admin_cookie})
    yourself = {"csrf_token": csrf, "account": admin.account.account_id}
    assert (await routing.post("/console/accounts/disable", data=yourself)).status == 409
    routing.session.cookie_jar.clear()
    again = await console_sign_in(routing, officer.account.login, officer.totp_secret)
    assert again.status == 401


async def test_a_lead_sees_the_figures_of_their_agency_only(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))  # police
    await case_of(routing_db, await reporter.submit(Category.FALSE_INFORMATION))  # culture
    await sign_in_as(routing, staff_person(Role.LEAD, "police"))
    overview = await (await routing.get("/console/overview")).text()
    assert 'id="fig-total">1<' in overview and 'id="triage-h"' not in overview
    await sign_in_as(routing, staff_person(Role.SUPERVISOR))
    overview = await (await routing.get("/console/overview")).text()
    assert 'id="fig-total">2<' in overview
    await sign_in_as(routing, staff_person(Role.OFFICER, "police"))
    officer = await routing.get("/console/overview", allow_redirects=False)
    assert officer.status == 303 and officer.headers["Location"] == "/console/cases"


async def test_a_scoped_supervisor_gets_the_figures_of_their_scope_only(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))  # police
    await case_of(routing_db, await reporter.submit(Category.FALSE_INFORMATION))  # culture
    await sign_in_as(routing, staff_person(Role.SUPERVISOR, scope_agencies=["culture_office"]))
    scoped = await (await routing.get("/console/transparency.json")).json()
    assert scoped["scope"] == "scope" and scoped["totals"]["cases"] == 1
    assert [a["agency"] for a in scoped["by_agency"]] == ["culture_office"]
    await sign_in_as(routing, staff_person(Role.SUPERVISOR))
    everyone = await (await routing.get("/console/transparency.json")).json()
    assert everyone["scope"] == "all" and everyone["totals"]["cases"] == 2


async def test_the_local_run_makes_demo_accounts_once_that_sign_in(
    routing: Client, routing_settings: RoutingSettings, tmp_path: Path
) -> None:
    demo = demo_module()
    path = tmp_path / "demo-accounts.json"
    url, name = routing_settings.mongo_url, routing_settings.mongo_db
    accounts = routing.app[ACCOUNTS]
    theirs = await create_staff_account(accounts, staff_person(Role.ADMIN), login="admin")
    made = await asyncio.to_thread(demo.demo_accounts, url, name, path)
    assert sorted(made) == sorted(login for login, *_ in demo.DEMO_ACCOUNTS if login != "admin")
    kept = await accounts.get(theirs.account.account_id)  # not made by the script: untouched
    assert kept is not None and kept.password_hash == theirs.account.password_hash
    assert path.stat().st_mode & 0o077 == 0  # the secrets are the user's only
    again = await asyncio.to_thread(demo.demo_accounts, url, name, path)
    assert again == made  # kept, not made anew
    officer = made["police-officer"]
    reply = await console_sign_in(
        routing, "police-officer", officer["totp_secret"], password=officer["password"]
    )
    assert reply.status == 303
