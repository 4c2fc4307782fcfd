"""In a real browser: a supervisor opens the transparency report; anyone opens the public page."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.test_console import SCAM, sign_in
from tests.browser.test_console_decisions import both_widths
from tests.e2e.conftest import System, auth, submit_json
from tests.helpers import resolve_body

pytestmark = pytest.mark.e2e


async def decided_case(system: System) -> str:
    """A report turned into a police case, acknowledged and resolved over the API."""
    body = {**SCAM, "content_urls": ["https://www.facebook.com/gia.mao.ngan.hang.3"]}
    routing = system.url("routing")
    async with aiohttp.ClientSession() as session:
        code = await submit_json(session, system, body)
        for _ in range(80):  # routing takes a moment to turn the report into a case
            async with session.get(f"{routing}/api/v1/cases", headers=auth("police")) as reply:
                cases = [c for c in (await reply.json())["cases"] if c["tracking_code"] == code]
            if cases:
                break
            await asyncio.sleep(0.25)  # polling for the case, not waiting for a deadline
        case_id = cases[0]["case_id"]
        for action, payload in (("acknowledge", {}), ("resolve", resolve_body())):
            url = f"{routing}/api/v1/cases/{case_id}/{action}"
            async with session.post(url, json=payload, headers=auth("police")) as reply:
                assert reply.status == 200, await reply.text()
    return code


async def test_supervisor_opens_the_transparency_report(page: Page, system: System) -> None:
    await decided_case(system)
    await sign_in(page, system, "supervisor")
    await page.get_by_role("link", name="Minh bạch", exact=True).click()
    await expect(page.get_by_role("heading", name="Báo cáo minh bạch", level=1)).to_be_visible()
    await expect(page.locator("#fig-cases")).to_have_text("1")
    await expect(page.locator("#fig-decisions")).to_have_text("1")
    await expect(page.locator("svg.chart").first).to_be_visible()
    await expect(page.locator("#by-agency")).to_contain_text("Công an")
    href = await page.locator("#download-csv").get_attribute("href")
    csv = await page.request.get(f"{system.url('routing')}{href}")
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    assert "decisions.removed_by_platform" in await csv.text()
    await both_widths(page, "transparency")

    await page.goto(f"{system.url('routing')}/transparency")
    await expect(page.get_by_role("heading", name="Báo cáo minh bạch", level=1)).to_be_visible()
    await expect(page.locator("#cases-by-category")).to_be_visible()
    await both_widths(page, "transparency-public")
    await page.goto(f"{system.url('routing')}/transparency?lang=en")
    await expect(page.get_by_role("heading", name="Transparency report", level=1)).to_be_visible()
