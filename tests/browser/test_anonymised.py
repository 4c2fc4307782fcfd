"""In a real browser, on a phone's and a desk's width: a report whose case closed years ago,
anonymised by `incidents-admin retention`, on the status page and on the console's case page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, expect

from services.common.contracts import CaseStatus, DecisionOutcome
from services.routing.case import CaseNote, Decision
from tests.browser.conftest import screenshot
from tests.browser.test_console import SCAM, sign_in
from tests.e2e.conftest import System, case_for, submit_json
from tests.helpers import wait_until
from tests.integration.admin.support import admin
from tests.integration.intake.decision_events import EXPLANATION, public_decision

pytestmark = pytest.mark.e2e

CLOSED = datetime.now(UTC) - timedelta(days=4 * 365)
WIDTHS = (390, 1280)


async def close_long_ago(system: System, code: str) -> str:
    """Close the report's case four years ago, with a decision and a note; the case's id."""
    case = await wait_until(lambda: case_for(system, code), what="the report's case")
    decision = Decision(
        outcome=DecisionOutcome.REMOVED_BY_PLATFORM,
        legal_basis="nd147_art8",
        explanation=EXPLANATION,
        decided_at=CLOSED,
        decided_by="police",
        status=CaseStatus.RESOLVED,
    ).model_dump(by_alias=True)
    note = CaseNote(at=CLOSED, actor="police", text="Đã gọi cho chị C").model_dump()
    closed: dict[str, Any] = {"status": "resolved", "closed_at": CLOSED, "notes": [note]}
    async with system.database("routing") as routing:
        await routing.cases.update_one(
            {"_id": case["_id"]},
            {"$set": {**closed, "decision": decision, "decisions": [decision]}},
        )
    public = public_decision(CLOSED).model_dump(mode="python")
    state = {"case_id": case["_id"], "agency": "police", "status": "resolved", "version": 9}
    async with system.database("intake") as intake:
        await intake.reports.update_one(
            {"tracking_code": code},
            {
                "$set": {
                    "status": "resolved",
                    "updated_at": CLOSED,
                    "case": {**state, "outcome": "removed", "decision": public},
                }
            },
        )
    return str(case["_id"])


async def test_anonymised_texts_say_so_on_the_status_page_and_in_the_console(
    page: Page, system: System
) -> None:
    async with aiohttp.ClientSession() as session:
        code = await submit_json(session, system, SCAM)
    case_id = await close_long_ago(system, code)
    databases = [f"--{name}-db={db}" for name, db in system.databases.items()]
    run = await admin("retention", f"--mongo-url={system.mongo_url}", *databases)
    assert run.code == 0, run.err

    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(f"{system.url('intake')}/status/{code}")
        await expect(page.locator("#anonymised")).to_contain_text("đã được ẩn danh lúc")
        await expect(page.locator("#decision-explanation")).to_have_text("Nội dung đã được ẩn danh")
        await screenshot(page, f"intake-status-anonymised-{width}")

    await page.set_viewport_size({"width": 1280, "height": 900})
    await sign_in(page, system, "police")
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(f"{system.url('routing')}/console/cases/{case_id}")
        marked = page.locator(".anonymised")
        await expect(marked.first).to_have_text("Nội dung đã được ẩn danh")
        assert await marked.count() == 3  # the description, the explanation, the note
        await expect(page.get_by_text(str(SCAM["description"]))).to_have_count(0)
        await screenshot(page, f"console-case-anonymised-{width}")
