"""In a real browser: reports of one page in three URL forms make one case; a supervisor sees
its reports and reporters and splits one off."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import sign_in
from tests.e2e.conftest import System, submit_json

pytestmark = pytest.mark.e2e

FORMS = [
    "https://www.facebook.com/ho.tro.vay.von",
    "https://m.facebook.com/ho.tro.vay.von?fbclid=IwAR0x",
    "fb.com/ho.tro.vay.von",
]
PEOPLE = [("Nguyễn Văn A", "0912000001"), ("Trần Thị B", "0912000002"), ("Lê Văn C", "0912000003")]


def report(url: str, name: str, phone: str) -> dict[str, object]:
    return {
        "category": "scam_fraud",
        "content_urls": [url],
        "platform": "facebook",
        "description": "Trang hỗ trợ vay vốn giả mạo đòi đặt cọc trước.",
        "reporter_kind": "citizen",
        "anonymous": False,
        "contact": {"name": name, "phone": phone},
    }


async def test_supervisor_sees_one_case_of_three_reports_and_splits_one_off(
    page: Page, system: System
) -> None:
    async with aiohttp.ClientSession() as session:
        codes = [
            await submit_json(session, system, report(url, *person))
            for url, person in zip(FORMS, PEOPLE, strict=True)
        ]
    await sign_in(page, system, "supervisor")
    await page.goto(f"{system.url('routing')}/console/cases")
    row = page.locator("tr[data-case]", has_text=codes[0])
    await expect(row).to_be_visible(timeout=20_000)
    await expect(page.locator("tr[data-case]", has_text=codes[1])).to_have_count(0)
    await row.get_by_role("link", name=codes[0]).click()
    reports = page.locator("#reports tbody tr")
    await expect(reports).to_have_count(3, timeout=20_000)
    for code in codes:
        await expect(reports.filter(has_text=code)).to_have_count(1)
    await expect(page.locator("#case-reporters")).to_have_text(re.compile(r"^[1-3]$"))
    await screenshot(page, "console-grouped-case")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "console-grouped-case-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})

    await page.locator("#split-report").select_option(label=codes[2])
    await page.locator("#split-reason").fill("Phản ánh về một trang khác.")
    await page.locator("#btn-split").click()
    await expect(page.locator("#reports tbody tr")).to_have_count(1)
    await expect(page.locator("#reports")).to_contain_text(codes[2])
    await screenshot(page, "console-split-case")
